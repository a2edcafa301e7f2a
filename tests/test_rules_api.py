from __future__ import annotations

from django.apps import apps

from alerts.models import Channel, Event, Rule
from tests.alert_fixtures import People

RULE = {
    "name": "payments errors",
    "metric": "error_rate",
    "op": ">",
    "threshold": 0.2,
    "window_minutes": 5,
    "min_calls": 10,
    "for_seconds": 0,
    "severity": "critical",
    "service": "payments",
    "subject": "*",
    "cooldown_minutes": 60,
}


def test_it_creates_a_rule_as_the_contract_says(people: People, log_channel: Channel) -> None:
    r = people.admin.post("/api/v1/rules", {**RULE, "channels": [log_channel.id]})
    assert r.status_code == 201, r.content
    body = r.json()
    assert {k: body[k] for k in RULE} == RULE
    assert body["channels"] == [log_channel.id]
    rule = Rule.objects.get(id=body["id"])
    assert list(rule.channels.all()) == [log_channel]
    assert [(h["actor"], h["action"]) for h in body["history"]] == [("alice", "rule created")]


def test_it_names_the_bad_field(people: People, log_channel: Channel) -> None:
    r = people.admin.post("/api/v1/rules", {**RULE, "metric": "vibes"})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("metric: ")
    r = people.admin.post("/api/v1/rules", {**RULE, "channels": [log_channel.id, 999]})
    assert r.status_code == 422
    assert r.json()["detail"] == "channels[1]: no channel with id 999"
    assert not Rule.objects.exists()


def test_it_answers_400_for_a_body_that_is_not_json(people: People, no_defaults: None) -> None:
    r = people.admin.client.post("/api/v1/rules", b"{nope", content_type="application/json")
    assert r.status_code in (400, 422)
    assert not Rule.objects.exists()


def test_it_lets_only_admins_configure(people: People, no_defaults: None) -> None:
    assert people.responder.post("/api/v1/rules", RULE).status_code == 403
    assert people.viewer.post("/api/v1/rules", RULE).status_code == 403
    assert not Rule.objects.exists()
    assert people.viewer.get("/api/v1/rules").status_code == 200


def test_it_records_every_edit(people: People, log_channel: Channel) -> None:
    rule_id = people.admin.post("/api/v1/rules", RULE).json()["id"]
    r = people.admin.patch(f"/api/v1/rules/{rule_id}", {"threshold": 0.3, "channels": [log_channel.id]})
    assert r.status_code == 200
    assert r.json()["threshold"] == 0.3
    assert r.json()["history"][-1]["detail"] == "changed threshold, channels"
    assert people.responder.patch(f"/api/v1/rules/{rule_id}", {"threshold": 0.9}).status_code == 403
    assert Rule.objects.get(id=rule_id).threshold == 0.3


def test_it_deletes_a_rule_and_keeps_the_record(people: People, no_defaults: None) -> None:
    rule_id = people.admin.post("/api/v1/rules", RULE).json()["id"]
    assert people.admin.delete(f"/api/v1/rules/{rule_id}").status_code == 204
    assert not Rule.objects.filter(id=rule_id).exists()
    gone = Event.objects.get(action="rule deleted")
    assert gone.actor == people.admin.user and "payments errors" in gone.detail
    assert people.admin.get(f"/api/v1/rules/{rule_id}").status_code == 404


def test_a_new_install_gets_default_rules_and_a_log_channel(no_defaults: None) -> None:
    from importlib import import_module

    import_module("alerts.migrations.0002_default_rules").create_defaults(apps, None)
    channel = Channel.objects.get()
    assert channel.kind == "log"
    rules = {rule.metric: rule for rule in Rule.objects.all()}
    assert rules["error_rate"].threshold == 0.2 and rules["error_rate"].min_calls == 10
    assert rules["breaker_open_s"].severity == "critical"
    assert rules["reporter_silent_minutes"].threshold == 10
    assert all(list(rule.channels.all()) == [channel] for rule in rules.values())
