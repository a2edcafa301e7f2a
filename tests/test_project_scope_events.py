"""Alerts, incidents, deliveries, action links and /metrics, scoped by project: two projects
with one service each, an alert (with its incident and a dead-lettered notice) on each.

An alert's project is the project of the service it names; another project's alert,
incident or delivery is not found (404) and left out of every list and count; acting on
one needs a responder in ITS project, whatever the current project."""

from __future__ import annotations

import ipaddress

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pytest_django import Settings

from alerts import action_links
from alerts.models import Alert, Channel, Delivery
from monitoring.models import IngestToken, Project, Service, TokenScope, UserToken
from tests.alert_fixtures import make_alert, make_rule
from tests.browser import join, make_user
from tests.conftest import Reporter, call, now_iso

pytestmark = pytest.mark.django_db


@pytest.fixture
def two(client: Client) -> dict:
    """Payments (the default project) and llm (the AI platform project): each reported a
    failing function and a queue, and has a firing alert with a dead-lettered notice."""
    ai = Project.objects.create(name="AI platform", slug="ai")
    channel = Channel.objects.create(name="log", kind="log", config={})
    found: dict = {"ai": ai}
    for name, project in (("payments", Project.objects.default()), ("llm", ai)):
        service = Service.objects.create(name=name, project=project)
        raw = IngestToken.issue(service=service)[1]
        queue = {"queue": f"{name}-queue", "ts": now_iso(), "depth": 5, "in_flight": 0, "dead_letter": 0}
        batch = {"calls": [call(f"{name}-call", "failure")], "queues": [queue]}
        assert Reporter(client, raw).post(batch).status_code == 202
        rule = make_rule(channel, name=f"{name} errors", service=name)
        alert = make_alert(rule, service=name, subject=f"{name}-call", fingerprint=f"function:{name}")
        dead = Delivery.objects.create(
            alert=alert, incident=alert.incident, channel=channel, event="firing", state="dead", attempts=5
        )
        found[name] = {"alert": alert, "incident": alert.incident_id, "delivery": dead.id}
    return found


def as_user(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def services(rows: dict | list) -> list[str]:
    items = rows["items"] if isinstance(rows, dict) else rows
    return sorted(row["service"] for row in items)


def test_a_viewer_of_one_project_sees_only_its_alerts_incidents_and_deliveries(two: dict) -> None:
    viewer = as_user(make_user("viewer"))  # in the default project: payments
    assert services(viewer.get("/api/v1/alerts").json()) == ["payments"]
    assert services(viewer.get("/api/v1/alerts", {"service": "llm"}).json()) == []
    assert services(viewer.get("/api/v1/incidents").json()) == ["payments"]
    deliveries = viewer.get("/api/v1/deliveries", {"state": "dead"}).json()["items"]
    assert [row["id"] for row in deliveries] == [two["payments"]["delivery"]]
    llm = two["llm"]
    for path in (
        f"/api/v1/alerts/{llm['alert'].id}",
        f"/api/v1/incidents/{llm['incident']}",
        f"/alerts/{llm['alert'].id}/",
        f"/incidents/{llm['incident']}/",
        f"/fragments/alerts/{llm['alert'].id}/state",
        f"/fragments/alerts/{llm['alert'].id}/history",
        f"/fragments/alerts/{llm['alert'].id}/acknowledge",
    ):
        assert viewer.get(path).status_code == 404, path
    assert viewer.get(f"/api/v1/alerts/{two['payments']['alert'].id}").status_code == 200
    for path in ("/alerts/", "/fragments/alerts/table", "/incidents/"):
        page = viewer.get(path).content.decode()
        assert "payments" in page and "llm" not in page, path
    assert viewer.get("/api/v1/overview").json()["firing_alerts"] == 1


def test_a_stranger_acting_on_another_projects_alert_gets_404_and_changes_nothing(two: dict) -> None:
    erin = User.objects.create_user("erin")
    join(erin, "admin", two["ai"])
    client = as_user(erin)
    payments = two["payments"]
    alert_id, incident_id = payments["alert"].id, payments["incident"]
    for path in (
        f"/api/v1/alerts/{alert_id}/acknowledge",
        f"/api/v1/alerts/{alert_id}/resolve",
        f"/api/v1/incidents/{incident_id}/acknowledge",
        f"/api/v1/incidents/{incident_id}/resolve",
        f"/api/v1/deliveries/{payments['delivery']}/retry",
        f"/incidents/{incident_id}/acknowledge/",
        f"/incidents/{incident_id}/resolve/",
    ):
        assert client.post(path, content_type="application/json").status_code == 404, path
    assert Alert.objects.get(id=alert_id).state == "firing"
    assert Delivery.objects.get(id=payments["delivery"]).state == "dead"


def test_a_responder_in_one_project_and_a_viewer_in_another_acts_in_the_first_only(two: dict) -> None:
    dana = make_user("viewer", "dana")  # a viewer in the default project, where payments is
    join(dana, "responder", two["ai"])
    client = as_user(dana)
    llm, payments = two["llm"], two["payments"]
    done = client.post(f"/api/v1/alerts/{llm['alert'].id}/acknowledge", content_type="application/json")
    assert done.status_code == 200 and done.json()["state"] == "acknowledged"
    refused = client.post(f"/api/v1/alerts/{payments['alert'].id}/acknowledge", content_type="application/json")
    assert refused.status_code == 403
    assert Alert.objects.get(id=payments["alert"].id).state == "firing"
    # Incidents, on the page: whatever the current project, the incident's own decides.
    assert client.post(f"/incidents/{payments['incident']}/resolve/").status_code == 403
    assert client.post(f"/incidents/{llm['incident']}/resolve/").status_code == 302
    assert Alert.objects.get(id=llm["alert"].id).state == "resolved"
    # The retry of a dead-lettered notice goes by its alert's project.
    assert client.post(f"/api/v1/deliveries/{payments['delivery']}/retry").status_code == 403
    assert client.post(f"/api/v1/deliveries/{llm['delivery']}/retry").status_code == 202
    # The pages offer the actions where they work only.
    assert 'id="state-actions"' not in client.get(f"/fragments/alerts/{payments['alert'].id}/state").content.decode()
    assert 'id="state-actions"' in client.get(f"/fragments/alerts/{llm['alert'].id}/state").content.decode()


def test_the_alerts_page_offers_retry_only_where_the_person_responds(two: dict) -> None:
    dana = make_user("viewer", "dana")
    join(dana, "responder", two["ai"])
    page = as_user(dana).get("/alerts/").content.decode()
    assert f'data-retry="{two["llm"]["delivery"]}"' in page
    assert f'data-retry="{two["payments"]["delivery"]}"' not in page
    assert f'href="/alerts/{two["payments"]["alert"].id}/"' in page  # both projects' alerts listed


def test_the_owner_sees_and_counts_both(two: dict) -> None:
    owner = as_user(make_user("admin"))
    assert services(owner.get("/api/v1/alerts").json()) == ["llm", "payments"]
    assert services(owner.get("/api/v1/incidents").json()) == ["llm", "payments"]
    assert len(owner.get("/api/v1/deliveries").json()["items"]) == 2
    assert owner.get("/api/v1/overview").json()["firing_alerts"] == 2
    assert owner.get(f"/alerts/{two['llm']['alert'].id}/").status_code == 200


def test_an_alert_on_a_service_no_project_holds_counts_as_the_default_projects(two: dict) -> None:
    """A deleted service's alerts stay: in the default project, as a one-project install had them."""
    gone = make_alert(make_rule(name="old", service="retired"), service="retired", fingerprint="function:9")
    viewer = as_user(make_user("viewer"))
    erin = User.objects.create_user("erin")
    join(erin, "viewer", two["ai"])
    assert viewer.get(f"/api/v1/alerts/{gone.id}").status_code == 200
    assert as_user(erin).get(f"/api/v1/alerts/{gone.id}").status_code == 404
    assert services(as_user(erin).get("/api/v1/alerts").json()) == ["llm"]


def metrics_token(user: User) -> str:
    return UserToken.issue(user=user, scope=TokenScope.METRICS_READ)[1]


def scrape(headers: dict | None = None, **extra: str) -> str:
    answer = Client(headers=headers or {}).get("/metrics", **extra)
    assert answer.status_code == 200, answer.content
    return answer.content.decode()


def test_a_metrics_token_scrapes_its_persons_projects_only(two: dict) -> None:
    raw = metrics_token(make_user("viewer"))
    text = scrape({"Authorization": f"Bearer {raw}"})
    assert 'service="payments"' in text and 'service="llm"' not in text
    assert 'queue="payments-queue"' in text and "llm-queue" not in text
    assert 'resilience_alerts_open{severity="critical",state="firing"} 1' in text
    assert 'resilience_deliveries{state="dead"} 1' in text


def test_the_owners_token_and_an_allowed_network_scrape_everything(two: dict, settings: Settings) -> None:
    owner = scrape({"Authorization": f"Bearer {metrics_token(make_user('admin'))}"})
    settings.MONITOR_METRICS_ALLOW_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"),)
    network = scrape()
    for text in (owner, network):
        assert 'service="payments"' in text and 'service="llm"' in text
        assert 'resilience_alerts_open{severity="critical",state="firing"} 2' in text
        assert 'resilience_deliveries{state="dead"} 2' in text


def test_a_token_of_someone_in_no_project_scrapes_no_service(two: dict) -> None:
    text = scrape({"Authorization": f"Bearer {metrics_token(User.objects.create_user('nobody'))}"})
    assert 'service="' not in text
    assert 'resilience_alerts_open{severity="critical",state="firing"} 0' in text


def test_an_action_link_is_authorised_by_its_own_token_whoever_follows_it(two: dict) -> None:
    """Public by design: the signed link is the permission, for whoever holds it."""
    alert = two["payments"]["alert"]
    link = action_links.token(alert.id, "acknowledge", action_links.email_recipient("oncall@example.org"))
    erin = User.objects.create_user("erin")
    join(erin, "admin", two["ai"])
    follower = as_user(erin)
    assert follower.get(f"/act/{link}/").status_code == 200
    assert follower.post(f"/act/{link}/").status_code == 200
    alert.refresh_from_db()
    assert alert.state == "acknowledged"
    assert alert.events.get(action="acknowledged").actor_name == "oncall@example.org"


def test_an_inhibitor_of_another_project_is_not_named(two: dict) -> None:
    """llm depends on payments (someone in both set it): payments' alert inhibits llm's, and
    a person of the AI platform only is told so without payments' names."""
    llm_service = Service.objects.get(name="llm")
    llm_service.depends_on.add(Service.objects.get(name="payments"))
    llm, payments = two["llm"]["alert"], two["payments"]["alert"]
    Alert.objects.filter(id=llm.id).update(inhibited_by=payments, inhibited_at=payments.started_at)
    erin = User.objects.create_user("erin")
    join(erin, "viewer", two["ai"])
    client = as_user(erin)
    inhibitor = client.get(f"/api/v1/alerts/{llm.id}").json()["inhibited_by"]
    assert inhibitor["service"] == "" and inhibitor["rule"] == "" and "project" in inhibitor["reason"]
    assert client.get("/api/v1/alerts").json()["items"][0]["inhibited_by"]["service"] == ""
    for path in (
        f"/alerts/{llm.id}/",
        f"/fragments/alerts/{llm.id}/state",
        "/fragments/alerts/table",
        f"/incidents/{two['llm']['incident']}/",
        f"/services/{llm_service.id}/",
    ):
        answer = client.get(path)
        assert answer.status_code == 200 and "payments" not in answer.content.decode(), path
    owner = as_user(make_user("admin")).get(f"/api/v1/alerts/{llm.id}").json()["inhibited_by"]
    assert owner["service"] == "payments" and "payments errors" in owner["reason"]
