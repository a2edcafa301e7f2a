"""Rules, channels and silences belong to a project (issue 17): a stranger finds none of
another project's (404, left out of lists), writes need the role in the object's project,
nothing refers across projects (422 naming the field), and evaluation keeps each project's
alerts to its own rules, channels and silences."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from alerts import lifecycle
from alerts.evaluate import evaluate_all
from alerts.lifecycle import Observation
from alerts.models import Alert, Channel, Delivery, Rule, Silence
from monitoring.models import IngestToken, Project, Service
from tests.alert_fixtures import failures, make_rule, successes
from tests.browser import join, make_user
from tests.conftest import Reporter

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_defaults", "notify_at_once")]

RULE = {"name": "errors", "metric": "error_rate", "threshold": 0.2, "min_calls": 1}


@pytest.fixture
def two(client: Client) -> dict:
    """Payments (the default project) and an AI platform project, each with one service, a log
    channel, a rule using it and a silence."""
    ai = Project.objects.create(name="AI platform", slug="ai")
    found: dict = {"ai": ai, "default": Project.objects.default()}
    for key, name, project in (("pay", "payments", found["default"]), ("llm", "llm", ai)):
        service = Service.objects.create(name=name, project=project)
        channel = Channel.objects.create(name=f"{name} log", kind="log", config={}, project=project)
        rule = Rule.objects.create(name=f"{name} errors", metric="error_rate", threshold=0.2, project=project)
        rule.channels.set([channel])
        silence = Silence.objects.create(
            service=name, project=project, ends_at=timezone.now() + timedelta(hours=1), comment=f"{name} quiet"
        )
        found[key] = {"service": service, "channel": channel, "rule": rule, "silence": silence}
    return found


def as_user(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def a_stranger_to_ai(client: Client) -> Client:
    """An admin of the default project (payments) only."""
    user = User.objects.create_user("stranger")
    join(user, "admin")
    return as_user(client, user)


def test_a_stranger_finds_none_of_another_projects_rules_channels_and_silences(client: Client, two: dict) -> None:
    a_stranger_to_ai(client)
    llm = two["llm"]
    rule, channel, silence = llm["rule"].id, llm["channel"].id, llm["silence"].id
    for path in (
        f"/api/v1/rules/{rule}",
        f"/api/v1/channels/{channel}",
        f"/api/v1/channels/{channel}/deliveries",
        f"/api/v1/silences/{silence}",
        f"/rules/{rule}/",
        f"/channels/{channel}/",
        f"/channels/{channel}/edit/",
        f"/silences/{silence}/",
    ):
        assert client.get(path).status_code == 404, path
    for path in (
        f"/rules/{rule}/disable/",
        f"/rules/{rule}/delete/",
        f"/channels/{channel}/delete/",
        f"/channels/{channel}/test/",
        f"/channels/{channel}/reveal/",
        f"/silences/{silence}/end/",
    ):
        assert client.post(path).status_code == 404, path
    for method, path in (
        ("PATCH", f"/api/v1/rules/{rule}"),
        ("DELETE", f"/api/v1/rules/{rule}"),
        ("PATCH", f"/api/v1/channels/{channel}"),
        ("DELETE", f"/api/v1/channels/{channel}"),
        ("POST", f"/api/v1/channels/{channel}/test"),
        ("DELETE", f"/api/v1/silences/{silence}"),
    ):
        assert client.generic(method, path, "{}", content_type="application/json").status_code == 404, path
    assert Rule.objects.filter(id=rule, enabled=True).exists() and Channel.objects.filter(id=channel).exists()
    assert Silence.objects.get(id=silence).ends_at > timezone.now()
    assert [r["name"] for r in client.get("/api/v1/rules").json()["items"]] == ["payments errors"]
    assert [c["name"] for c in client.get("/api/v1/channels").json()["items"]] == ["payments log"]
    assert [s["comment"] for s in client.get("/api/v1/silences").json()["items"]] == ["payments quiet"]
    for page in ("/rules/", "/channels/", "/silences/"):
        shown = client.get(page).content.decode()
        assert "payments" in shown and "llm" not in shown, page


def test_a_responder_in_one_project_and_a_viewer_in_another_acts_in_the_first_only(client: Client, two: dict) -> None:
    user = User.objects.create_user("both")
    join(user, "viewer")
    join(user, "responder", two["ai"])
    as_user(client, user)
    ends = (timezone.now() + timedelta(hours=2)).isoformat()
    made = client.post("/api/v1/silences", {"service": "llm", "ends_at": ends, "project": "ai"}, "application/json")
    assert made.status_code == 201 and made.json()["project"] == "ai"
    refused = client.post(
        "/api/v1/silences", {"service": "payments", "ends_at": ends, "project": "default"}, "application/json"
    )
    assert refused.status_code == 403
    assert client.delete(f"/api/v1/silences/{two['pay']['silence'].id}").status_code == 403
    assert client.delete(f"/api/v1/silences/{two['llm']['silence'].id}").status_code == 204
    # Both projects' silences are in the list; the switcher shows whose each is.
    assert len(client.get("/api/v1/silences").json()["items"]) == 3
    # Rules need the admin role there: a responder may read them but not change them.
    assert client.get(f"/api/v1/rules/{two['llm']['rule'].id}").status_code == 200
    assert (
        client.patch(f"/api/v1/rules/{two['llm']['rule'].id}", {"enabled": False}, "application/json").status_code
        == 403
    )


def test_the_owner_sees_both_and_creates_in_the_project_named(client: Client, two: dict) -> None:
    as_user(client, make_user("admin"))
    assert len(client.get("/api/v1/rules").json()["items"]) == 2
    assert len(client.get("/api/v1/channels").json()["items"]) == 2
    made = client.post(
        "/api/v1/rules", {**RULE, "project": "ai", "channels": [two["llm"]["channel"].id]}, "application/json"
    )
    assert made.status_code == 201, made.content
    assert made.json()["project"] == "ai" and Rule.objects.get(id=made.json()["id"]).project == two["ai"]
    channel = client.post("/api/v1/channels", {"name": "ai hook", "kind": "log", "project": "ai"}, "application/json")
    assert channel.status_code == 201 and channel.json()["project"] == "ai"
    current = client.post("/api/v1/rules", RULE, "application/json").json()
    assert current["project"] == "ai"  # none named: the current project, the owner's first by name
    unknown = client.post("/api/v1/rules", {**RULE, "project": "nope"}, "application/json")
    assert unknown.status_code == 422 and "project" in unknown.content.decode()


def test_an_admin_cannot_name_a_project_not_theirs(client: Client, two: dict) -> None:
    a_stranger_to_ai(client)
    answer = client.post("/api/v1/rules", {**RULE, "project": "ai"}, "application/json")
    assert answer.status_code == 422 and "project" in answer.content.decode()
    assert not Rule.objects.filter(name="errors").exists()


def test_nothing_refers_across_projects(client: Client, two: dict) -> None:
    as_user(client, make_user("admin"))
    other = two["llm"]["channel"].id
    answer = client.post("/api/v1/rules", {**RULE, "project": "default", "channels": [other]}, "application/json")
    assert answer.status_code == 422 and "channels" in answer.content.decode()
    rule = two["pay"]["rule"].id
    answer = client.patch(f"/api/v1/rules/{rule}", {"channels": [other]}, "application/json")
    assert answer.status_code == 422 and "channels" in answer.content.decode()
    ends = (timezone.now() + timedelta(hours=2)).isoformat()
    body = {"service": "*", "ends_at": ends, "rule": two["llm"]["rule"].id, "project": "default"}
    answer = client.post("/api/v1/silences", body, "application/json")
    assert answer.status_code == 422 and "rule" in answer.content.decode()


def test_the_rule_form_offers_only_its_projects_channels(client: Client, two: dict) -> None:
    as_user(client, make_user("admin"))
    shown = client.get(f"/rules/{two['llm']['rule'].id}/").content.decode()
    assert "llm log" in shown and "payments log" not in shown
    assert "AI platform" in shown  # which project it is in: the owner sees two


def test_a_star_rule_notifies_only_its_own_projects_channel(client: Client, two: dict) -> None:
    """Two projects each with a `*` rule and a channel; a function fails in the AI project:
    only its channel gets a delivery, and the default project's silence holds nothing back."""
    Silence.objects.all().delete()
    Silence.objects.create(service="*", project=two["default"], ends_at=timezone.now() + timedelta(hours=1))
    Rule.objects.all().delete()
    for key in ("pay", "llm"):
        project = two[key]["service"].project
        make_rule(two[key]["channel"], name=f"{key} all", service="*", min_calls=1, project=project)
    raw = IngestToken.issue(service=two["llm"]["service"])[1]
    assert Reporter(client, raw).post({"calls": failures(6, "generate") + successes(2, "generate")}).status_code == 202
    assert evaluate_all().fired == 1
    alert = Alert.objects.get()
    assert (alert.service, alert.rule.name, alert.suppressed_until) == ("llm", "llm all", None)
    assert list(Delivery.objects.values_list("channel__name", flat=True)) == ["llm log"]


def test_slos_policies_and_status_pages_keep_to_their_project(client: Client, two: dict) -> None:
    """Another project's SLO, escalation policy and status page are not found; each refers
    only to its own project's services, channels and people (422 naming the field)."""
    as_user(client, make_user("admin"))
    slo = {"name": "llm ok", "service": "llm", "target": 99.0, "project": "ai"}
    made = client.post("/api/v1/slos", slo, "application/json")
    assert made.status_code == 201 and made.json()["project"] == "ai", made.content
    wrong = client.post("/api/v1/slos", {**slo, "name": "x", "project": "default"}, "application/json")
    assert wrong.status_code == 422 and "service" in wrong.content.decode()
    stranger = User.objects.create_user("ai-only")
    join(stranger, "admin", two["ai"])
    step = {"wait_minutes": 5, "channels": [two["pay"]["channel"].id]}
    wrong = client.post(
        "/api/v1/escalation-policies", {"name": "p", "steps": [step], "project": "ai"}, "application/json"
    )
    assert wrong.status_code == 422 and "channels" in wrong.content.decode()
    payer = User.objects.create_user("payer")
    join(payer, "responder")
    step = {"wait_minutes": 5, "people": [payer.id]}
    wrong = client.post(
        "/api/v1/escalation-policies", {"name": "p", "steps": [step], "project": "ai"}, "application/json"
    )
    assert wrong.status_code == 422 and "people" in wrong.content.decode()
    step = {"wait_minutes": 5, "people": [stranger.id], "channels": [two["llm"]["channel"].id]}
    policy = client.post(
        "/api/v1/escalation-policies", {"name": "p", "steps": [step], "project": "ai"}, "application/json"
    )
    assert policy.status_code == 201 and policy.json()["project"] == "ai"
    rule = client.patch(
        f"/api/v1/rules/{two['pay']['rule'].id}", {"escalation_policy": policy.json()["id"]}, "application/json"
    )
    assert rule.status_code == 422 and "escalation_policy" in rule.content.decode()
    page = client.post(
        "/api/v1/status-pages", {"slug": "ai", "title": "AI status", "project": "ai"}, "application/json"
    )
    assert page.status_code == 201 and page.json()["project"] == "ai"
    wrong = client.post(
        f"/api/v1/status-pages/{page.json()['id']}/components",
        {"service": "payments", "public_name": "Pay"},
        "application/json",
    )
    assert wrong.status_code == 422 and "service" in wrong.content.decode()

    as_user(client, User.objects.create_user("pay-admin"))
    join(User.objects.get(username="pay-admin"), "admin")
    for path in (
        f"/api/v1/slos/{made.json()['id']}",
        f"/api/v1/escalation-policies/{policy.json()['id']}",
        f"/api/v1/status-pages/{page.json()['id']}",
        f"/slos/{made.json()['id']}/",
        f"/escalation/{policy.json()['id']}/",
        f"/status-pages/{page.json()['id']}/",
    ):
        assert client.get(path).status_code == 404, path
    assert client.get("/api/v1/slos").json()["items"] == []
    assert client.get("/api/v1/escalation-policies").json()["items"] == []
    assert client.get("/api/v1/status-pages").json()["items"] == []
    assert client.get("/status/ai/").status_code == 200  # the public page is public by design


def test_a_project_with_rules_of_its_own_is_not_deleted(client: Client, two: dict) -> None:
    as_user(client, make_user("admin"))
    two["llm"]["service"].delete()
    answer = client.delete("/api/v1/projects/ai")
    assert answer.status_code == 422 and "still has" in answer.content.decode()
    assert Project.objects.filter(slug="ai").exists()


def test_the_preview_of_a_rule_reads_its_own_projects_services(client: Client, two: dict) -> None:
    """The owner's current project is the AI platform (first by name); the form of a payments
    rule previews with payments' channels and services, and never names the AI project's."""
    as_user(client, make_user("admin"))
    form = {
        "name": "payments errors",
        "metric": "error_rate",
        "op": ">",
        "threshold": "0.2",
        "window_minutes": "5",
        "service": "*",
        "subject": "*",
        "cooldown_minutes": "60",
        "channels": [str(two["pay"]["channel"].id)],
        "project": "default",
    }
    answer = client.post("/rules/preview/", form)
    shown = answer.content.decode()
    assert answer.status_code == 200 and "field-error" not in shown and "llm" not in shown
    answer = client.post("/rules/preview/", {**form, "project": "ai"})
    assert "no channel with id" in answer.content.decode()


def test_a_person_in_both_projects_sees_which_project_each_row_is_of(client: Client, two: dict) -> None:
    """The alerts, SLOs, escalation policies and status pages lists name each row's project
    for a person in several projects (as the rules list does); a person in one sees no column."""
    both = make_user("admin")
    join(both, "admin", two["ai"])
    as_user(client, both)
    for project, service in (("default", "payments"), ("ai", "llm")):
        made = client.post(
            "/api/v1/slos",
            {"name": f"{service} ok", "service": service, "target": 99.0, "project": project},
            "application/json",
        )
        assert made.status_code == 201, made.content
        step = {"wait_minutes": 5, "channels": [two["pay" if project == "default" else "llm"]["channel"].id]}
        made = client.post(
            "/api/v1/escalation-policies",
            {"name": f"{service} policy", "steps": [step], "project": project},
            "application/json",
        )
        assert made.status_code == 201, made.content
        made = client.post(
            "/api/v1/status-pages",
            {"slug": service, "title": f"{service} status", "project": project},
            "application/json",
        )
        assert made.status_code == 201, made.content
        rule = two["pay" if project == "default" else "llm"]["rule"]
        lifecycle.fire(
            rule,
            Observation(
                fingerprint=f"{service}/x",
                service=service,
                subject="x",
                value=1.0,
                severity="warning",
                threshold=0.2,
                summary=f"{service} failing",
            ),
        )
    projects = {"payments": "Default", "llm": "AI platform"}
    for path, row_of in (
        ("/alerts/", lambda service: f"{service} / x"),
        ("/slos/", lambda service: f"{service} ok"),
        ("/escalation/", lambda service: f"{service} policy"),
        ("/status-pages/", lambda service: f"{service} status"),
    ):
        page = client.get(path).content.decode()
        assert "<th" in page and ">Project</th>" in page, path
        for service, project in projects.items():
            row = next(r for r in page.split("<tr")[1:] if row_of(service) in r)
            assert f'class="project-name{"" if path != "/alerts/" else " hide-narrow"}">{project}</td>' in row, (
                path,
                row,
            )

    payer = User.objects.create_user("payer")
    join(payer, "admin")
    as_user(client, payer)
    for path in ("/alerts/", "/slos/", "/escalation/", "/status-pages/"):
        page = client.get(path).content.decode()
        assert ">Project</th>" not in page and "project-name" not in page, path
