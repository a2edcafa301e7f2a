"""Signed webhooks delivered to a real local HTTP receiver."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest
from pytest_django import Settings

from alerts.transports import TRANSPORTS, ConfigError, Message, TransportError, transport_for
from alerts.transports.webhook import verify_signature
from tests.receivers import HttpReceiver, Request

SECRET = "s3cret-s3cret-s3cret"
OLD_SECRET = "old-secret-old-secret"


def message(**overrides: object) -> Message:
    values = {
        "event": "firing",
        "alert_id": 42,
        "title": "payments errors above 20%",
        "text": "error rate 0.35 > 0.2 over 5 min",
        "severity": "critical",
        "url": "http://monitor.example.org/alerts/42",
        "idempotency_key": "delivery-42-1",
        "fields": {"service": "payments", "subject": "charge"},
    }
    return Message(**{**values, **overrides})


def deliver(receiver: HttpReceiver, config: dict, msg: Message | None = None) -> Request:
    webhook = transport_for("webhook", {"url": receiver.url(), **config})
    webhook.notify(msg or message())
    return receiver.wait_for(1)[-1]


def test_it_posts_the_alert_as_json(http_receiver: HttpReceiver) -> None:
    request = deliver(http_receiver, {"secret": SECRET})

    assert request.method == "POST"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Idempotency-Key"] == "delivery-42-1"
    body = request.json()
    assert body["event"] == "firing"
    assert body["text"] == "error rate 0.35 > 0.2 over 5 min"
    assert body["alert"] == {
        "id": 42,
        "title": "payments errors above 20%",
        "severity": "critical",
        "url": "http://monitor.example.org/alerts/42",
        "service": "payments",
        "subject": "charge",
    }
    assert body["sent_at"].endswith("+00:00")


def test_its_signature_verifies(http_receiver: HttpReceiver) -> None:
    request = deliver(http_receiver, {"secret": SECRET})

    timestamp = request.headers["X-Monitor-Timestamp"]
    assert abs(int(timestamp) - time.time()) < 5
    # Computed here from the documented recipe, independently of the sender's code.
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Monitor-Signature"] == f"v1={expected}"
    assert verify_signature(SECRET, timestamp, request.body, request.headers["X-Monitor-Signature"])


def test_a_tampered_body_fails_verification(http_receiver: HttpReceiver) -> None:
    request = deliver(http_receiver, {"secret": SECRET})

    tampered = request.body.replace(b"critical", b"low")
    assert tampered != request.body
    header = request.headers["X-Monitor-Signature"]
    assert not verify_signature(SECRET, request.headers["X-Monitor-Timestamp"], tampered, header)


def test_a_wrong_secret_or_timestamp_fails_verification(http_receiver: HttpReceiver) -> None:
    request = deliver(http_receiver, {"secret": SECRET})

    timestamp, header = request.headers["X-Monitor-Timestamp"], request.headers["X-Monitor-Signature"]
    assert not verify_signature("another-secret-entirely", timestamp, request.body, header)
    assert not verify_signature(SECRET, int(timestamp) + 1, request.body, header)
    assert not verify_signature(SECRET, "not-a-number", request.body, header)
    assert not verify_signature(SECRET, timestamp, request.body, "")
    assert not verify_signature(SECRET, timestamp, request.body, None)


def test_a_stale_timestamp_fails_verification() -> None:
    body = b'{"event": "firing"}'
    stale = int(time.time()) - 301
    digest = hmac.new(SECRET.encode(), f"{stale}.".encode() + body, hashlib.sha256).hexdigest()

    assert not verify_signature(SECRET, stale, body, f"v1={digest}")
    assert verify_signature(SECRET, stale, body, f"v1={digest}", tolerance_s=600)


def test_it_signs_with_both_secrets_while_rotating(http_receiver: HttpReceiver) -> None:
    request = deliver(http_receiver, {"secret": SECRET, "previous_secret": OLD_SECRET})

    timestamp, header = request.headers["X-Monitor-Timestamp"], request.headers["X-Monitor-Signature"]
    assert header.count("v1=") == 2
    assert verify_signature(SECRET, timestamp, request.body, header)
    assert verify_signature(OLD_SECRET, timestamp, request.body, header)
    assert not verify_signature("a-third-secret-here", timestamp, request.body, header)


def test_it_reports_a_500_as_temporary(http_receiver: HttpReceiver) -> None:
    http_receiver.respond_with([500, 200])
    webhook = transport_for("webhook", {"url": http_receiver.url(), "secret": SECRET})

    with pytest.raises(TransportError) as e:
        webhook.notify(message())
    assert not e.value.permanent

    webhook.notify(message())  # the retry gets through with the same key
    first, second = http_receiver.wait_for(2)
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"] == "delivery-42-1"


def test_it_passes_on_retry_after_from_a_429(http_receiver: HttpReceiver) -> None:
    http_receiver.respond_with([429], headers={"Retry-After": "30"})
    webhook = transport_for("webhook", {"url": http_receiver.url(), "secret": SECRET})

    with pytest.raises(TransportError) as e:
        webhook.notify(message())

    assert not e.value.permanent
    assert e.value.retry_after == 30.0


def test_it_reports_a_400_as_permanent(http_receiver: HttpReceiver) -> None:
    http_receiver.respond_with([400])
    webhook = transport_for("webhook", {"url": http_receiver.url(), "secret": SECRET})

    with pytest.raises(TransportError) as e:
        webhook.notify(message())

    assert e.value.permanent
    assert not e.value.disable_channel


def test_it_refuses_a_private_target_unless_allowed(http_receiver: HttpReceiver, settings: Settings) -> None:
    settings.MONITOR_ALLOW_PRIVATE_WEBHOOK_TARGETS = False
    webhook = transport_for("webhook", {"url": http_receiver.url(), "secret": SECRET})

    with pytest.raises(TransportError) as e:
        webhook.notify(message())
    assert e.value.permanent
    assert http_receiver.requests == []

    settings.MONITOR_ALLOW_PRIVATE_WEBHOOK_TARGETS = True
    webhook.notify(message())
    assert len(http_receiver.wait_for(1)) == 1


def test_its_recipient_is_the_url() -> None:
    webhook = transport_for("webhook", {"url": "https://hooks.example.org/in", "secret": SECRET})

    assert webhook.recipients() == ["https://hooks.example.org/in"]


def test_it_cleans_its_config() -> None:
    cls = TRANSPORTS["webhook"]

    assert cls.clean_config({"url": " https://hooks.example.org/in ", "secret": SECRET, "previous_secret": ""}) == {
        "url": "https://hooks.example.org/in",
        "secret": SECRET,
    }
    assert (
        cls.clean_config({"url": "http://h.example.org/", "secret": SECRET, "previous_secret": OLD_SECRET})[
            "previous_secret"
        ]
        == OLD_SECRET
    )


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"secret": SECRET}, "config.url"),
        ({"url": "ftp://hooks.example.org/in", "secret": SECRET}, "config.url"),
        ({"url": "https://", "secret": SECRET}, "config.url"),
        ({"url": "https://user:pw@hooks.example.org/", "secret": SECRET}, "config.url"),
        ({"url": "https://hooks.example.org:99999/", "secret": SECRET}, "config.url"),
        ({"url": "https://hooks.example.org/in"}, "config.secret"),
        ({"url": "https://hooks.example.org/in", "secret": "too-short"}, "config.secret"),
        ({"url": "https://hooks.example.org/in", "secret": 1234567890123456789}, "config.secret"),
        (
            {"url": "https://hooks.example.org/in", "secret": SECRET, "previous_secret": "short"},
            "config.previous_secret",
        ),
    ],
)
def test_it_names_the_bad_config_field(config: dict, field: str) -> None:
    with pytest.raises(ConfigError) as e:
        TRANSPORTS["webhook"].clean_config(config)

    assert e.value.field == field
    assert e.value.message
