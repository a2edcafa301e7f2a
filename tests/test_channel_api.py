"""The channels API: who may do what, what it records, and what it refuses when saved."""

from __future__ import annotations

import pytest
from django.test import Client
from pytest_django import Settings

from alerts.models import Channel, Delivery
from monitoring.models import AuditEntry
from tests.alert_fixtures import People, Person, make_rule
from tests.receivers import HttpReceiver

SECRET = "a-long-enough-signing-secret"
SLACK_URL = "https://hooks.slack.example.org/services/T000/B000/XXXXSECRETPATH"


def webhook(url: str = "https://hooks.example.org/monitor") -> Channel:
    return Channel.objects.create(name="ops hook", kind="webhook", config={"url": url, "secret": SECRET})


def as_role(people: People, role: str) -> Person | None:
    return None if role == "anonymous" else getattr(people, role)


def call(people: People, role: str, method: str, path: str, body: dict | None = None) -> int:
    person = as_role(people, role)
    if person is None:
        client = Client()
        if method == "get":
            return client.get(path).status_code
        return getattr(client, method)(path, body or {}, content_type="application/json").status_code
    if method == "get":
        return person.get(path).status_code
    if method == "delete":
        return person.delete(path).status_code
    return getattr(person, method)(path, body or {}).status_code


READS = ["/api/v1/channels", "/api/v1/channels/{id}", "/api/v1/channels/{id}/deliveries"]


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize(("role", "status"), [("anonymous", 401), ("viewer", 200), ("responder", 200), ("admin", 200)])
def test_it_lets_every_role_read_channels(people: People, no_defaults: None, path: str, role: str, status: int) -> None:
    channel = webhook()
    assert call(people, role, "get", path.format(id=channel.id)) == status


WRITES = [
    ("post", "/api/v1/channels", {"name": "log", "kind": "log", "config": {}}),
    ("patch", "/api/v1/channels/{id}", {"name": "renamed"}),
    ("delete", "/api/v1/channels/{id}", None),
    ("post", "/api/v1/channels/{id}/test", None),
    ("post", "/api/v1/channels/{id}/reveal", {"key": "secret"}),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
@pytest.mark.parametrize(("role", "status"), [("anonymous", 401), ("viewer", 403), ("responder", 403)])
def test_it_lets_only_admins_change_test_or_reveal(
    people: People, no_defaults: None, method: str, path: str, body: dict | None, role: str, status: int
) -> None:
    channel = webhook()
    assert call(people, role, method, path.format(id=channel.id), body) == status
    channel.refresh_from_db()
    assert channel.name == "ops hook"
    assert Channel.objects.count() == 1
    assert not Delivery.objects.exists()
    assert not AuditEntry.objects.exists()


def test_it_records_each_change_in_the_audit_trail_with_secrets_masked(people: People, no_defaults: None) -> None:
    body = {"name": "ops hook", "kind": "webhook", "config": {"url": "https://hooks.example.org/a", "secret": SECRET}}
    r = people.admin.post("/api/v1/channels", body)
    assert r.status_code == 201, r.content
    channel_id = r.json()["id"]
    new_secret = "another-long-enough-secret"
    r = people.admin.patch(
        f"/api/v1/channels/{channel_id}",
        {"config": {"url": "https://hooks.example.org/a", "secret": new_secret, "previous_secret": "********"}},
    )
    assert r.status_code == 200, r.content
    assert people.admin.patch(f"/api/v1/channels/{channel_id}", {"enabled": False}).status_code == 200
    assert people.admin.patch(f"/api/v1/channels/{channel_id}", {"enabled": True}).status_code == 200
    assert people.admin.post(f"/api/v1/channels/{channel_id}/reveal", {"key": "secret"}).json()["value"] == new_secret
    assert people.admin.delete(f"/api/v1/channels/{channel_id}").status_code == 204

    entries = list(AuditEntry.objects.filter(kind="channel", object_id=str(channel_id)).order_by("at", "id"))
    assert [e.action for e in entries] == ["created", "updated", "disabled", "enabled", "revealed", "deleted"]
    assert all(e.actor_name == "alice" for e in entries)
    assert entries[0].after["config"] == {"url": "https://hooks.example.org/a", "secret": "********"}
    # The edit shows a secret was replaced, never what it was or became.
    assert entries[1].before == {"config": {"url": "https://hooks.example.org/a", "secret": "********"}}
    assert entries[1].after == {"config": {"url": "https://hooks.example.org/a", "secret": "******** (replaced)"}}
    assert entries[4].after == {"secret": "secret"}
    for entry in entries:
        text = str(entry.before) + str(entry.after)
        assert SECRET not in text and new_secret not in text


def test_a_masked_secret_sent_back_keeps_the_stored_one(people: People, no_defaults: None) -> None:
    r = people.admin.post("/api/v1/channels", {"name": "slack", "kind": "slack", "config": {"url": SLACK_URL}})
    assert r.status_code == 201, r.content
    assert r.json()["config"] == {"url": "********"}
    assert r.json()["secrets"] == ["url"]
    assert r.json()["target"] == "Slack incoming webhook on hooks.slack.example.org"
    channel_id = r.json()["id"]
    r = people.admin.patch(f"/api/v1/channels/{channel_id}", {"name": "slack #ops", "config": {"url": "********"}})
    assert r.status_code == 200, r.content
    channel = Channel.objects.get(id=channel_id)
    assert channel.name == "slack #ops"
    assert channel.full_config() == {"url": SLACK_URL}
    # Nothing of the secret changed: the audit entry shows only the name.
    entry = AuditEntry.objects.filter(action="updated").get()
    assert entry.after == {"name": "slack #ops"}


@pytest.mark.parametrize(
    ("kind", "config", "field"),
    [
        ("webhook", {"url": "http://127.0.0.1:9/hook", "secret": SECRET}, "config.url"),
        ("webhook", {"url": "http://10.1.2.3/hook", "secret": SECRET}, "config.url"),
        ("webhook", {"url": "http://[::1]:8080/hook", "secret": SECRET}, "config.url"),
        ("webhook", {"url": "http://localhost:8080/hook", "secret": SECRET}, "config.url"),
        ("slack", {"url": "http://169.254.169.254/latest/meta-data"}, "config.url"),
        ("slack", {"url": "file:///etc/passwd"}, "config.url"),
        ("email", {"to": ["a@example.org"], "smtp_host": "127.0.0.1", "smtp_port": 25}, "config.smtp_host"),
        ("email", {"to": ["a@example.org"], "smtp_password": "pw"}, "config.smtp_host"),
        ("email", {"to": ["a@example.org", "nope"]}, "config.to[1]"),
        ("webhook", {"url": "https://hooks.example.org/x", "secret": "short"}, "config.secret"),
    ],
)
def test_it_refuses_a_bad_or_internal_target_when_saved(
    people: People, no_defaults: None, settings: Settings, kind: str, config: dict, field: str
) -> None:
    settings.MONITOR_ALLOW_PRIVATE_WEBHOOK_TARGETS = False
    r = people.admin.post("/api/v1/channels", {"name": "x", "kind": kind, "config": config})
    assert r.status_code == 422, r.content
    assert r.json()["detail"].startswith(f"{field}: "), r.json()
    assert not Channel.objects.exists()
    # An edit is refused the same way, and the channel keeps its target.
    channel = webhook()
    r = people.admin.patch(f"/api/v1/channels/{channel.id}", {"config": {"url": "http://127.0.0.1/", "secret": SECRET}})
    assert r.status_code == 422 and r.json()["detail"].startswith("config.url: ")
    assert "MONITOR_ALLOW_PRIVATE_WEBHOOK_TARGETS" in r.json()["detail"]
    channel.refresh_from_db()
    assert channel.full_config()["url"] == "https://hooks.example.org/monitor"


def test_it_takes_an_internal_target_when_allowed(people: People, no_defaults: None, settings: Settings) -> None:
    settings.MONITOR_ALLOW_PRIVATE_WEBHOOK_TARGETS = True
    body = {"name": "local", "kind": "webhook", "config": {"url": "http://127.0.0.1:9/hook", "secret": SECRET}}
    assert people.admin.post("/api/v1/channels", body).status_code == 201


def test_a_test_answers_with_what_the_receiver_said(
    people: People, no_defaults: None, http_receiver: HttpReceiver
) -> None:
    channel = webhook(http_receiver.url("/hook"))
    http_receiver.respond_with([202], body="accepted, thanks")
    r = people.admin.post(f"/api/v1/channels/{channel.id}/test")
    assert r.status_code == 202, r.content
    answer = r.json()
    # The contract so far (a delivery) is kept; the receiver's answer comes with it.
    assert answer["event"] == "test" and answer["channel_id"] == channel.id and answer["state"] == "sent"
    assert answer["result"]["state"] == "sent"
    assert answer["result"]["answer"] == "HTTP 202 accepted, thanks"
    assert answer["result"]["error"] == ""
    assert 0 <= answer["result"]["elapsed_ms"] < 10_000
    request = http_receiver.requests[0]
    assert request.json()["event"] == "test" and request.headers["X-Monitor-Signature"].startswith("v1=")


def test_a_failed_test_says_why_and_is_not_retried(
    people: People, no_defaults: None, http_receiver: HttpReceiver
) -> None:
    channel = webhook(http_receiver.url("/hook"))
    http_receiver.respond_with([500])
    answer = people.admin.post(f"/api/v1/channels/{channel.id}/test").json()
    assert answer["state"] == "dead" and answer["result"]["state"] == "dead"
    assert answer["result"]["error"] == "127.0.0.1 answered 500"
    assert Delivery.objects.get().state == "dead"


def test_it_lists_a_channels_deliveries_and_shows_its_limits(people: People, no_defaults: None) -> None:
    channel = webhook()
    other = Channel.objects.create(name="log", kind="log")
    Delivery.objects.create(channel=channel, event="test", state="dead", last_error="connection refused")
    Delivery.objects.create(channel=channel, event="test", state="sent")
    Delivery.objects.create(channel=other, event="test", state="dead")
    make_rule(channel, name="payments errors", cooldown_minutes=45)
    r = people.viewer.get(f"/api/v1/channels/{channel.id}/deliveries", state="dead")
    assert [d["last_error"] for d in r.json()["items"]] == ["connection refused"]
    assert people.viewer.get(f"/api/v1/channels/{channel.id}/deliveries").json()["count"] == 2
    detail = people.viewer.get(f"/api/v1/channels/{channel.id}").json()
    rule = {"id": detail["rules"][0]["id"], "name": "payments errors", "enabled": True, "cooldown_minutes": 45}
    assert detail["rules"] == [rule]
    assert detail["rate_limit_per_minute"] == 30 and detail["rate_per_minute"] is None
    assert detail["last_delivery_state"] == "sent"
    assert people.viewer.get("/api/v1/channels/999999/deliveries").status_code == 404


def test_reveal_names_a_secret_of_the_channel(people: People, no_defaults: None) -> None:
    channel = webhook()
    r = people.admin.post(f"/api/v1/channels/{channel.id}/reveal", {"key": "url"})
    assert r.status_code == 422 and r.json()["detail"].startswith("key: ")
    r = people.admin.post(f"/api/v1/channels/{channel.id}/reveal", {"key": "previous_secret"})
    assert r.status_code == 422 and "not set" in r.json()["detail"]
    assert not AuditEntry.objects.exists()


def test_the_target_follows_an_edit(people: People, no_defaults: None) -> None:
    body = {"name": "mail", "kind": "email", "config": {"to": ["a@example.org"]}}
    channel_id = people.admin.post("/api/v1/channels", body).json()["id"]
    r = people.admin.patch(f"/api/v1/channels/{channel_id}", {"config": {"to": ["b@example.org", "c@example.org"]}})
    assert r.json()["target"] == "b@example.org, c@example.org"
