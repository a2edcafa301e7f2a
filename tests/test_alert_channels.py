from __future__ import annotations

from pytest_django import DjangoCaptureOnCommitCallbacks

from alerts.models import Channel, Delivery
from tests.alert_fixtures import People
from tests.receivers import HttpReceiver

SECRET = "a-long-enough-secret"


def test_it_creates_a_webhook_channel_and_masks_its_secret(people: People, no_defaults: None) -> None:
    body = {"name": "ops hook", "kind": "webhook", "config": {"url": "https://hooks.example.org/x", "secret": SECRET}}
    r = people.admin.post("/api/v1/channels", body)
    assert r.status_code == 201, r.content
    assert r.json()["config"] == {"url": "https://hooks.example.org/x", "secret": "********"}
    channel = Channel.objects.get()
    assert channel.full_config()["secret"] == SECRET
    r = people.admin.patch(
        f"/api/v1/channels/{channel.id}", {"config": {**r.json()["config"], "url": "https://b.example.org/"}}
    )
    assert r.status_code == 200
    channel.refresh_from_db()
    assert channel.full_config() == {"url": "https://b.example.org/", "secret": SECRET}


def test_it_names_the_bad_config_field(people: People, no_defaults: None) -> None:
    r = people.admin.post(
        "/api/v1/channels", {"name": "x", "kind": "webhook", "config": {"url": "ftp://x", "secret": SECRET}}
    )
    assert r.status_code == 422
    assert r.json()["detail"].startswith("config.url: ")
    r = people.admin.post("/api/v1/channels", {"name": "x", "kind": "pager", "config": {}})
    assert r.status_code == 422 and r.json()["detail"].startswith("kind: ")
    assert not Channel.objects.exists()


def test_it_lets_only_admins_add_channels(people: People, no_defaults: None) -> None:
    r = people.responder.post("/api/v1/channels", {"name": "log", "kind": "log", "config": {}})
    assert r.status_code == 403
    assert not Channel.objects.exists()


def test_it_sends_a_test_notification(
    people: People,
    http_receiver: HttpReceiver,
    no_defaults: None,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    channel = Channel.objects.create(name="slack", kind="slack", config={"url": http_receiver.url("/slack")})
    with django_capture_on_commit_callbacks(execute=True):
        r = people.admin.post(f"/api/v1/channels/{channel.id}/test")
    assert r.status_code == 202
    assert r.json()["event"] == "test"
    request = http_receiver.wait_for(1)[0]
    assert request.path == "/slack" and "Test" in request.json()["text"]
    assert Delivery.objects.get().state == "sent"


def test_it_turns_a_disabled_channel_back_on(people: People, no_defaults: None) -> None:
    channel = Channel.objects.create(name="log", kind="log", config={})
    channel.disable("Slack says the webhook is gone")
    r = people.admin.patch(f"/api/v1/channels/{channel.id}", {"enabled": True})
    assert r.status_code == 200 and r.json()["enabled"] is True
    channel.refresh_from_db()
    assert channel.disabled_at is None
