"""Flapping and hysteresis: a condition must stay clear MONITOR_RESOLVE_AFTER_S before its
alert resolves, so a breaker opening, closing and opening again keeps one alert with a flap
count; and a cooldown below a minute is refused, by the API and by the rule form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from time_machine import TimeMachineFixture

from alerts.evaluate import evaluate_all
from alerts.models import Alert, Channel, Rule
from tests.alert_fixtures import People, failures, make_rule, successes
from tests.conftest import Reporter


@pytest.fixture
def clock(time_machine: TimeMachineFixture) -> TimeMachineFixture:
    time_machine.move_to(datetime(2026, 11, 30, 12, 0, tzinfo=UTC), tick=False)
    return time_machine


def breaker(state: str) -> dict:
    return {"function": "charge", "state": state, "ts": datetime.now(UTC).isoformat()}


def test_a_flapping_breaker_keeps_one_alert_with_a_flap_count(
    reporter: Reporter, log_channel: Channel, clock: TimeMachineFixture, people: People
) -> None:
    make_rule(log_channel, name="breaker open", metric="breaker_open_s", op=">", threshold=0, min_calls=0)
    for _ in range(3):
        reporter.post({"breakers": [breaker("open")]})
        clock.shift(timedelta(seconds=5))
        evaluate_all()
        reporter.post({"breakers": [breaker("closed")]})
        clock.shift(timedelta(seconds=5))
        evaluate_all()
    alert = Alert.objects.get()  # one alert, however often it opened
    assert alert.state == "firing" and alert.flaps == 2
    assert [e.action for e in alert.events.all()].count("flapping") == 1
    incident = people.viewer.get(f"/api/v1/incidents/{alert.incident_id}").json()
    assert incident["flaps"] == 2 and incident["alert_count"] == 1
    page = people.viewer.client.get(f"/alerts/{alert.id}/").content.decode()
    assert "came back 2 times" in page
    # Closed for good: resolved once the hysteresis has passed.
    clock.shift(timedelta(seconds=121))
    evaluate_all()
    assert Alert.objects.get().state == "resolved"


def test_a_briefly_clear_condition_keeps_its_alert_open(
    reporter: Reporter, log_channel: Channel, clock: TimeMachineFixture
) -> None:
    make_rule(log_channel, window_minutes=1)
    reporter.post({"calls": failures(10)})
    evaluate_all()
    clock.shift(timedelta(seconds=61))  # the 1-minute window is empty: the condition is clear
    reporter.post({"calls": successes(20)})
    evaluate_all()
    alert = Alert.objects.get()
    assert alert.state == "firing" and alert.clear_since is not None
    clock.shift(timedelta(seconds=30))
    reporter.post({"calls": failures(10)})  # back within the hysteresis: the same alert
    evaluate_all()
    alert.refresh_from_db()
    assert alert.state == "firing" and alert.clear_since is None and alert.flaps == 1
    assert Alert.objects.count() == 1


def test_the_api_refuses_a_cooldown_under_a_minute(people: People, no_defaults: None) -> None:
    body = {"name": "noisy", "metric": "error_rate", "threshold": 0.2, "cooldown_minutes": 0}
    r = people.admin.post("/api/v1/rules", body)
    assert r.status_code == 422
    assert r.json()["detail"].startswith("cooldown_minutes: ")
    assert "at least 1 minute" in r.json()["detail"]
    rule = make_rule()
    r = people.admin.patch(f"/api/v1/rules/{rule.id}", {"cooldown_minutes": 0})
    assert r.status_code == 422 and "at least 1 minute" in r.json()["detail"]
    assert Rule.objects.get().cooldown_minutes == 60


def test_the_form_refuses_a_cooldown_under_a_minute(people: People, no_defaults: None) -> None:
    form = {
        "name": "noisy",
        "metric": "error_rate",
        "op": ">",
        "threshold": "0.2",
        "window_minutes": "5",
        "min_calls": "0",
        "for_seconds": "0",
        "severity": "high",
        "service": "*",
        "subject": "*",
        "cooldown_minutes": "0",
        "group_by": "subject",
        "enabled": "on",
    }
    r = people.admin.client.post("/rules/new/", form)
    assert r.status_code == 422
    page = r.content.decode()
    assert 'id="cooldown_minutes-error"' in page and "at least 1 minute" in page
    assert not Rule.objects.exists()
    r = people.admin.client.post("/rules/new/", {**form, "cooldown_minutes": "1", "group_by": "service"})
    assert r.status_code == 302
    assert Rule.objects.get().group_by == "service"
