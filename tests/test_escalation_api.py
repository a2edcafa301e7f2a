"""The escalation endpoints: anonymous 401, every role reads policies, admins configure (each
write audited); refusals are 422 naming the field; rules name a policy; a person's
notification address is theirs to set, or an admin's."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.test import Client

from alerts.models import Channel, EscalationPolicy, NotificationAddress, Rule
from monitoring.models import AuditEntry, Service
from tests.alert_fixtures import People, make_rule


@pytest.fixture
def pager(no_defaults: None) -> Channel:
    return Channel.objects.create(name="#payments-oncall", kind="log", config={})


def body(channel: Channel, **fields: object) -> dict:
    return {"name": "Payments on-call", "steps": [{"wait_minutes": 10, "channels": [channel.id]}], **fields}


def made(channel: Channel) -> EscalationPolicy:
    policy = EscalationPolicy.objects.create(name="existing")
    policy.steps.create(position=0, wait_minutes=5).channels.set([channel])
    return policy


def calls(policy_id: int, channel: Channel, user_id: int) -> list[tuple[str, str, dict | None]]:
    return [
        ("get", "/api/v1/escalation-policies", None),
        ("get", f"/api/v1/escalation-policies/{policy_id}", None),
        ("post", "/api/v1/escalation-policies", body(channel, name="another")),
        ("patch", f"/api/v1/escalation-policies/{policy_id}", {"repeat": 2}),
        ("delete", f"/api/v1/escalation-policies/{policy_id}", None),
        ("get", f"/api/v1/people/{user_id}/notification-address", None),
        ("put", f"/api/v1/people/{user_id}/notification-address", {"email": "x@example.com"}),
    ]


def send(client: Client, method: str, path: str, payload: dict | None) -> int:
    if payload is None:
        return getattr(client, method)(path).status_code
    return getattr(client, method)(path, payload, content_type="application/json").status_code


def test_anonymous_gets_401_everywhere(people: People, pager: Channel) -> None:
    policy = made(pager)
    for method, path, payload in calls(policy.id, pager, people.admin.user.id):
        assert send(Client(), method, path, payload) == 401, (method, path)
    assert EscalationPolicy.objects.get().repeat == 0


@pytest.mark.parametrize("role", ["viewer", "responder"])
def test_viewers_and_responders_read_but_do_not_configure(people: People, pager: Channel, role: str) -> None:
    policy = made(pager)
    client = getattr(people, role).client
    # Someone else's address (the admin's) is not theirs to read or set.
    expected = [200, 200, 403, 403, 403, 403, 403]
    assert [send(client, m, p, b) for m, p, b in calls(policy.id, pager, people.admin.user.id)] == expected
    assert EscalationPolicy.objects.get().repeat == 0
    assert not NotificationAddress.objects.exists()


@pytest.mark.parametrize("role", ["viewer", "responder", "admin"])
def test_each_person_sets_their_own_address(people: People, pager: Channel, role: str) -> None:
    person = getattr(people, role)
    path = f"/api/v1/people/{person.user.id}/notification-address"
    assert person.get(path).json() == {
        "user_id": person.user.id,
        "username": person.user.username,
        "email": "",
        "channel": None,
    }
    r = person.client.put(path, {"channel": pager.id}, content_type="application/json")
    assert r.status_code == 200, r.content
    assert r.json()["channel"] == {"id": pager.id, "name": "#payments-oncall"}
    assert AuditEntry.objects.filter(kind="notificationaddress", action="created", actor=person.user).exists()


def test_admins_create_change_and_delete_with_audit(people: People, pager: Channel) -> None:
    service = Service.objects.create(name="payments")
    r = people.admin.post("/api/v1/escalation-policies", body(pager, services=[service.id], repeat=1))
    assert r.status_code == 201, r.content
    created = r.json()
    assert created["steps"] == [
        {"position": 1, "wait_minutes": 10, "channels": [{"id": pager.id, "name": "#payments-oncall"}], "people": []}
    ]
    assert created["services"] == [{"id": service.id, "name": "payments"}]
    policy_id = created["id"]

    two_steps = [
        {"wait_minutes": 5, "channels": [pager.id]},
        {"wait_minutes": 15, "people": [people.responder.user.id]},
    ]
    r = people.admin.patch(f"/api/v1/escalation-policies/{policy_id}", {"steps": two_steps})
    assert r.status_code == 200, r.content
    assert [(s["position"], s["wait_minutes"]) for s in r.json()["steps"]] == [(1, 5), (2, 15)]
    assert r.json()["steps"][1]["people"] == [{"id": people.responder.user.id, "name": "bob"}]
    assert r.json()["repeat"] == 1  # left out: unchanged

    assert people.admin.delete(f"/api/v1/escalation-policies/{policy_id}").status_code == 204
    assert not EscalationPolicy.objects.exists()
    actions = list(AuditEntry.objects.filter(kind="escalationpolicy").order_by("id").values_list("action", flat=True))
    assert actions == ["created", "updated", "deleted"]
    update = AuditEntry.objects.get(kind="escalationpolicy", action="updated")
    assert update.before["steps"][0]["wait_minutes"] == 10 and len(update.after["steps"]) == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"steps": [{"wait_minutes": 10, "channels": [999999]}]}, "steps[0].channels[0]"),
        ({"steps": [{"wait_minutes": 0, "channels": ["CHANNEL"]}]}, "steps[0].wait_minutes"),
        ({"repeat": -1}, "repeat"),
        ({"steps": [{"wait_minutes": 10}]}, "steps[0]"),
        ({"steps": []}, "steps"),
        ({"name": "existing"}, "name"),
        ({"steps": [{"wait_minutes": 10, "people": [999999]}]}, "steps[0].people[0]"),
    ],
)
def test_bad_input_is_422_naming_the_field(people: People, pager: Channel, change: dict, field: str) -> None:
    made(pager)
    payload = body(pager, **change)
    for step in payload["steps"]:
        step["channels"] = [pager.id if c == "CHANNEL" else c for c in step.get("channels", [])]
    r = people.admin.post("/api/v1/escalation-policies", payload)
    assert r.status_code == 422, r.content
    assert r.json()["field"] == field
    assert EscalationPolicy.objects.count() == 1


@pytest.mark.parametrize(
    ("address", "field"),
    [({"email": "not-an-address"}, "email"), ({}, "email"), ({"email": "a@example.com", "channel": 1}, "channel")],
)
def test_a_bad_address_is_422_naming_the_field(people: People, pager: Channel, address: dict, field: str) -> None:
    r = people.admin.client.put(
        f"/api/v1/people/{people.viewer.user.id}/notification-address", address, content_type="application/json"
    )
    assert r.status_code == 422, r.content
    assert r.json()["field"] == field


def test_a_rule_names_a_policy(people: People, pager: Channel) -> None:
    policy = made(pager)
    rule = make_rule(pager)
    r = people.admin.patch(f"/api/v1/rules/{rule.id}", {"escalation_policy": policy.id})
    assert r.status_code == 200, r.content
    assert r.json()["escalation_policy"] == policy.id
    assert people.viewer.get(f"/api/v1/escalation-policies/{policy.id}").json()["rules"] == [
        {"id": rule.id, "name": rule.name}
    ]
    assert people.admin.patch(f"/api/v1/rules/{rule.id}", {"escalation_policy": 999999}).json()["field"] == (
        "escalation_policy"
    )
    assert (
        people.admin.patch(f"/api/v1/rules/{rule.id}", {"escalation_policy": None}).json()["escalation_policy"] is None
    )
    assert Rule.objects.get(id=rule.id).escalation_policy_id is None
    audit = AuditEntry.objects.filter(kind="rule", action="updated").order_by("id").first()
    assert audit.after == {"escalation_policy": policy.id}


def test_the_create_body_in_the_api_doc_is_accepted(people: People, pager: Channel) -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "api.md").read_text()
    section = doc.split("## Escalation policies", 1)[1]
    example = json.loads(re.search(r"^```json\n(.*?)^```", section, re.M | re.S).group(1))
    # The doc's ids are an install's own: channel 1 and person 2 become this test's.
    example["steps"][0]["channels"] = [pager.id]
    example["steps"][1]["people"] = [people.responder.user.id]
    r = people.admin.post("/api/v1/escalation-policies", example)
    assert r.status_code == 201, r.content
    assert [s["wait_minutes"] for s in r.json()["steps"]] == [5, 15] and r.json()["repeat"] == 1
