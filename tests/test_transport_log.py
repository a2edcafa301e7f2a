"""The log channel and the registry of kinds."""

from __future__ import annotations

import logging

import pytest

from alerts.transports import KIND_CHOICES, TRANSPORTS, ConfigError, Message, transport_for


def message(event: str) -> Message:
    return Message(
        event=event,
        alert_id=9,
        title="breaker open on invokeGroq",
        text="open on 3 of 5 instances",
        severity="high",
        url="http://monitor.example.org/alerts/9",
        idempotency_key=f"delivery-9-{event}",
        fields={},
    )


def test_it_logs_a_firing_alert_as_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="alerts.notifications"):
        transport_for("log", {}).notify(message("firing"))

    [record] = caplog.records
    assert record.name == "alerts.notifications"
    assert record.levelno == logging.WARNING
    line = record.getMessage()
    assert "\n" not in line
    assert "firing [high] breaker open on invokeGroq (alert 9)" in line
    assert "http://monitor.example.org/alerts/9" in line


@pytest.mark.parametrize("event", ["resolved", "reminder", "test"])
def test_it_logs_other_events_as_info(caplog: pytest.LogCaptureFixture, event: str) -> None:
    with caplog.at_level(logging.INFO, logger="alerts.notifications"):
        transport_for("log", {}).notify(message(event))

    [record] = caplog.records
    assert record.levelno == logging.INFO
    assert record.getMessage().startswith(event)


def test_it_keeps_a_multi_line_text_on_one_line(caplog: pytest.LogCaptureFixture) -> None:
    msg = Message("firing", None, "t", "first\nsecond", "low", "http://x.example.org/", "k", {})
    with caplog.at_level(logging.INFO, logger="alerts.notifications"):
        transport_for("log", {}).notify(msg)

    assert "\n" not in caplog.records[0].getMessage()


def test_it_has_no_recipients_and_no_config() -> None:
    assert transport_for("log", {}).recipients() == []
    assert TRANSPORTS["log"].clean_config({"anything": 1}) == {}


def test_the_registry_lists_every_kind() -> None:
    assert KIND_CHOICES == [
        ("webhook", "Webhook"),
        ("slack", "Slack"),
        ("email", "E-mail"),
        ("log", "Log"),
        ("pagerduty", "PagerDuty"),
        ("teams", "Microsoft Teams"),
        ("discord", "Discord"),
    ]
    assert all(cls.kind == kind for kind, cls in TRANSPORTS.items())


def test_an_unknown_kind_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as e:
        transport_for("pager", {})

    assert e.value.field == "kind"
