"""The /escalation/ pages: anonymous visitors log in, only admins manage policies (the form
refuses like the API and names the field, adds and removes step rows), everybody sets their own
notification address and admins anyone's; the rule form picks a policy; the incident page says
where its escalation stands."""

from __future__ import annotations

import pytest
from django.test import Client

from alerts import escalation_changes
from alerts.lifecycle import Observation, fire
from alerts.models import Channel, EscalationPolicy, NotificationAddress, Rule
from monitoring.models import AuditEntry, Service
from tests.alert_fixtures import People, make_rule


@pytest.fixture
def pager(no_defaults: None) -> Channel:
    return Channel.objects.create(name="#payments-oncall", kind="log", config={})


def made(channel: Channel, **fields: object) -> EscalationPolicy:
    data = {"name": "Payments on-call", "steps": [{"wait_minutes": 10, "channels": [channel.id]}], **fields}
    return escalation_changes.create(None, data)


@pytest.mark.parametrize(
    "path", ["/escalation/", "/escalation/new/", "/escalation/1/", "/escalation/people/", "/escalation/people/1/"]
)
def test_it_sends_anonymous_visitors_to_log_in(db: None, path: str) -> None:
    r = Client().get(path)
    assert r.status_code == 302 and r["Location"].startswith("/login/")


@pytest.mark.parametrize("who", ["viewer", "responder"])
def test_only_admins_manage_policies(people: People, pager: Channel, who: str) -> None:
    policy = made(pager)
    client = getattr(people, who).client
    for path in ["/escalation/", "/escalation/new/", f"/escalation/{policy.id}/", "/escalation/people/"]:
        assert client.get(path).status_code == 403, path
    assert client.post(f"/escalation/{policy.id}/delete/").status_code == 403
    assert EscalationPolicy.objects.exists()
    # Not someone else's address either.
    assert client.get(f"/escalation/people/{people.admin.user.id}/").status_code == 403


def test_the_list_says_what_to_do_when_empty_then_lists_policies(people: People, pager: Channel) -> None:
    r = people.admin.client.get("/escalation/")
    assert r.status_code == 200
    assert "No escalation policies yet" in r.content.decode()
    rule = make_rule(pager)
    policy = made(pager, services=[Service.objects.create(name="payments").id])
    Rule.objects.filter(id=rule.id).update(escalation_policy=policy)
    html = people.admin.client.get("/escalation/").content.decode()
    assert "Payments on-call" in html and "#payments-oncall" in html and "then 10 min" in html
    assert "service payments" in html and rule.name in html
    assert 'href="/escalation/"' in people.admin.client.get("/rules/").content.decode()


def test_an_admin_creates_a_policy_with_two_steps(people: People, pager: Channel) -> None:
    form = {
        "name": "Payments on-call",
        "repeat": "1",
        "step-0-wait": "5",
        "step-0-channels": [str(pager.id)],
        "step-1-wait": "15",
        "step-1-people": [str(people.responder.user.id)],
    }
    r = people.admin.client.post("/escalation/new/", form)
    policy = EscalationPolicy.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/escalation/{policy.id}/"
    steps = list(policy.steps.order_by("position"))
    assert [(s.wait_minutes, list(s.channels.all()), list(s.people.all())) for s in steps] == [
        (5, [pager], []),
        (15, [], [people.responder.user]),
    ]
    html = people.admin.client.get(f"/escalation/{policy.id}/").content.decode()
    assert "Step 2" in html and 'id="policy-history"' in html and "created" in html
    assert "data-confirm" in html


def test_add_and_remove_re_show_the_form_without_saving(people: People, pager: Channel) -> None:
    form = {"name": "p", "step-0-wait": "5", "step-0-channels": [str(pager.id)], "add_step": "1"}
    html = people.admin.client.post("/escalation/new/", form).content.decode()
    assert 'id="step-1-wait"' in html and not EscalationPolicy.objects.exists()
    form = {"name": "p", "step-0-wait": "5", "step-1-wait": "7", "step-1-channels": [str(pager.id)], "remove_step": "0"}
    html = people.admin.client.post("/escalation/new/", form).content.decode()
    assert 'id="step-1-wait"' not in html and 'value="7"' in html


@pytest.mark.parametrize(
    ("change", "error_id", "message"),
    [
        ({"step-0-wait": "0"}, "step-0-wait-error", "greater than or equal to 1"),
        ({"step-0-channels": []}, "step-0-row-error", "notify at least one channel or person"),
        ({"repeat": "-1"}, "repeat-error", "greater than or equal to 0"),
        ({"name": "taken"}, "name-error", "exists already"),
    ],
)
def test_the_form_refuses_like_the_api(
    people: People, pager: Channel, change: dict, error_id: str, message: str
) -> None:
    made(pager, name="taken")
    form = {"name": "new one", "repeat": "0", "step-0-wait": "5", "step-0-channels": [str(pager.id)], **change}
    r = people.admin.client.post("/escalation/new/", form)
    html = r.content.decode()
    assert r.status_code == 422
    assert f'id="{error_id}"' in html and message in html
    assert 'aria-invalid="true"' in html
    assert EscalationPolicy.objects.count() == 1


def test_an_admin_edits_and_deletes_a_policy(people: People, pager: Channel) -> None:
    policy = made(pager)
    form = {"name": "Payments on-call", "repeat": "2", "step-0-wait": "3", "step-0-channels": [str(pager.id)]}
    assert people.admin.client.post(f"/escalation/{policy.id}/", form).status_code == 302
    policy.refresh_from_db()
    assert policy.repeat == 2 and policy.steps.get().wait_minutes == 3
    assert people.admin.client.post(f"/escalation/{policy.id}/delete/").status_code == 302
    assert not EscalationPolicy.objects.exists()
    actions = list(AuditEntry.objects.filter(kind="escalationpolicy").order_by("id").values_list("action", flat=True))
    assert actions == ["created", "updated", "deleted"]


@pytest.mark.parametrize("who", ["viewer", "responder", "admin"])
def test_everybody_sets_their_own_address(people: People, pager: Channel, who: str) -> None:
    person = getattr(people, who)
    r = person.client.get("/escalation/people/me/")
    assert r.status_code == 302 and r["Location"] == f"/escalation/people/{person.user.id}/"
    assert "Where escalations reach you" in person.client.get(r["Location"]).content.decode()
    r = person.client.post(r["Location"], {"email": "me@example.com", "channel": ""})
    assert r.status_code == 302
    assert NotificationAddress.objects.get(user=person.user).email == "me@example.com"
    assert 'href="/escalation/people/me/"' in person.client.get("/settings/tokens/").content.decode()


def test_an_admin_sets_anyones_address_and_a_bad_one_is_refused(people: People, pager: Channel) -> None:
    path = f"/escalation/people/{people.viewer.user.id}/"
    r = people.admin.client.post(path, {"email": "nope", "channel": ""})
    assert r.status_code == 422 and 'id="email-error"' in r.content.decode()
    assert 'value="nope"' in r.content.decode()
    r = people.admin.client.post(path, {"email": "", "channel": str(pager.id)})
    assert r.status_code == 302
    html = people.admin.client.get("/escalation/people/").content.decode()
    assert "channel #payments-oncall" in html


def test_the_rule_form_picks_a_policy(people: People, pager: Channel) -> None:
    policy = made(pager)
    rule = make_rule(pager)
    html = people.admin.client.get(f"/rules/{rule.id}/").content.decode()
    assert 'name="escalation_policy"' in html and "Payments on-call" in html
    form = {
        "name": rule.name,
        "metric": "error_rate",
        "op": ">",
        "threshold": "0.2",
        "window_minutes": "5",
        "min_calls": "10",
        "for_seconds": "0",
        "severity": "critical",
        "service": "payments",
        "subject": "*",
        "cooldown_minutes": "60",
        "group_by": "subject",
        "channels": [str(pager.id)],
        "enabled": "on",
        "escalation_policy": str(policy.id),
    }
    r = people.admin.client.post(f"/rules/{rule.id}/", form)
    assert r.status_code == 302, r.content.decode()[:2000]
    assert Rule.objects.get(id=rule.id).escalation_policy_id == policy.id


@pytest.mark.parametrize("who", ["viewer", "responder", "admin"])
def test_the_incident_page_says_where_its_escalation_stands(
    people: People, pager: Channel, notify_at_once: None, who: str
) -> None:
    rule = make_rule(pager, escalation_policy=made(pager, repeat=0))
    alert = fire(rule, Observation("function:1", "payments", "charge", 0.5))
    html = getattr(people, who).client.get(f"/incidents/{alert.incident_id}/").content.decode()
    assert 'id="escalation"' in html and "Payments on-call" in html
    assert "step 1 of 1; next" in html
    detail = getattr(people, who).get(f"/api/v1/incidents/{alert.incident_id}").json()
    assert detail["escalation"]["state"] == "running" and detail["escalation"]["step"] == 1
