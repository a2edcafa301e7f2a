"""Slack incoming webhooks delivered to a real local HTTP receiver that answers like Slack."""

from __future__ import annotations

import pytest

from alerts.transports import TRANSPORTS, ConfigError, Message, TransportError, transport_for
from tests.receivers import HttpReceiver


def message(**overrides: object) -> Message:
    values = {
        "event": "firing",
        "alert_id": 7,
        "title": "checkout p95 latency above 800 ms",
        "text": "p95 1250 ms > 800 ms over 5 min",
        "severity": "high",
        "url": "http://monitor.example.org/alerts/7",
        "idempotency_key": "delivery-7-1",
        "fields": {"service": "checkout"},
    }
    return Message(**{**values, **overrides})


def send(receiver: HttpReceiver, msg: Message) -> dict:
    transport_for("slack", {"url": receiver.url("/services/T0/B0/xyz")}).notify(msg)
    return receiver.wait_for(1)[-1].json()


def test_it_posts_an_attachment_linking_to_the_alert(http_receiver: HttpReceiver) -> None:
    body = send(http_receiver, message())

    request = http_receiver.requests[0]
    assert request.path == "/services/T0/B0/xyz"
    assert request.headers["Content-Type"] == "application/json"
    assert body["text"] == "Firing: checkout p95 latency above 800 ms"
    [attachment] = body["attachments"]
    assert attachment["color"] == "#ff7f0e"
    assert attachment["title"] == "Firing: checkout p95 latency above 800 ms"
    assert attachment["title_link"] == "http://monitor.example.org/alerts/7"
    assert attachment["text"] == "p95 1250 ms > 800 ms over 5 min"
    assert {"title": "service", "value": "checkout", "short": True} in attachment["fields"]
    assert {"title": "Severity", "value": "high", "short": True} in attachment["fields"]


@pytest.mark.parametrize(
    ("severity", "color"),
    [("critical", "#d62728"), ("high", "#ff7f0e"), ("medium", "#f2c744"), ("low", "#1f77b4")],
)
def test_it_colours_by_severity(http_receiver: HttpReceiver, severity: str, color: str) -> None:
    body = send(http_receiver, message(severity=severity))

    assert body["attachments"][0]["color"] == color


def test_it_colours_a_resolve_green(http_receiver: HttpReceiver) -> None:
    body = send(http_receiver, message(event="resolved", severity="critical"))

    assert body["attachments"][0]["color"] == "#2ca02c"
    assert body["text"].startswith("Resolved: ")


@pytest.mark.parametrize(("status", "reason"), [(404, "no_service"), (410, "channel_is_archived")])
def test_a_removed_hook_disables_the_channel(http_receiver: HttpReceiver, status: int, reason: str) -> None:
    http_receiver.respond_with([status], body=reason)
    slack = transport_for("slack", {"url": http_receiver.url()})

    with pytest.raises(TransportError) as e:
        slack.notify(message())

    assert e.value.permanent
    assert e.value.disable_channel
    assert reason in e.value.message


def test_a_server_error_is_temporary_and_keeps_the_channel(http_receiver: HttpReceiver) -> None:
    http_receiver.respond_with([503])
    slack = transport_for("slack", {"url": http_receiver.url()})

    with pytest.raises(TransportError) as e:
        slack.notify(message())

    assert not e.value.permanent
    assert not e.value.disable_channel


def test_a_bad_payload_is_permanent_and_keeps_the_channel(http_receiver: HttpReceiver) -> None:
    http_receiver.respond_with([400], body="invalid_payload")
    slack = transport_for("slack", {"url": http_receiver.url()})

    with pytest.raises(TransportError) as e:
        slack.notify(message())

    assert e.value.permanent
    assert not e.value.disable_channel


def test_its_recipient_is_the_url_hashed() -> None:
    # The URL is the hook's credential: rate limits count it by a hash, never store it.
    (recipient,) = transport_for("slack", {"url": "https://hooks.slack.com/services/x"}).recipients()
    assert recipient.startswith("slack:sha256:") and "hooks.slack.com" not in recipient
    assert transport_for("slack", {"url": "https://hooks.slack.com/services/y"}).recipients() != [recipient]


def test_it_cleans_its_config() -> None:
    assert TRANSPORTS["slack"].clean_config({"url": "https://hooks.slack.com/services/x ", "extra": 1}) == {
        "url": "https://hooks.slack.com/services/x"
    }


@pytest.mark.parametrize("config", [{}, {"url": ""}, {"url": "javascript:alert(1)"}, {"url": 5}])
def test_it_names_the_bad_url(config: dict) -> None:
    with pytest.raises(ConfigError) as e:
        TRANSPORTS["slack"].clean_config(config)

    assert e.value.field == "config.url"


def test_it_refuses_a_config_that_is_not_an_object() -> None:
    with pytest.raises(ConfigError) as e:
        TRANSPORTS["slack"].clean_config(["https://hooks.slack.com/services/x"])  # type: ignore[arg-type]

    assert e.value.field == "config"
