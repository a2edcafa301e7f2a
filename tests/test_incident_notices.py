"""Incidents and their notices, with a real webhook receiver and the test clock: a breaker and
the error rate it causes page once (the breaker named; the error rate it explains is
inhibited: on the incident, not notified), an added alert updates once per group interval, the end
is one resolved notice, and a channel that never heard an incident gets no reminder of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings
from time_machine import TimeMachineFixture

from alerts.evaluate import evaluate_all
from alerts.models import Alert, Channel, Delivery, Incident
from tests.alert_fixtures import failures, make_rule, successes
from tests.conftest import Reporter
from tests.receivers import HttpReceiver

SECRET = "s3cret-s3cret-s3cret"


@pytest.fixture
def hook(http_receiver: HttpReceiver, no_defaults: None, settings: Settings) -> Channel:
    settings.MONITOR_DELIVERY_SCHEDULE_S = [0.0]
    return Channel.objects.create(
        name="ops hook", kind="webhook", config={"url": http_receiver.url(), "secret": SECRET}
    )


@pytest.fixture
def clock(time_machine: TimeMachineFixture) -> TimeMachineFixture:
    time_machine.move_to(datetime(2026, 11, 30, 12, 0, tzinfo=UTC), tick=False)
    return time_machine


def breaker(state: str) -> dict:
    return {"function": "charge", "state": state, "ts": datetime.now(UTC).isoformat()}


def breaker_rule(*channels: Channel) -> None:
    make_rule(*channels, name="breaker open", metric="breaker_open_s", op=">", threshold=0, min_calls=0)


def later(clock: TimeMachineFixture, seconds: float) -> None:
    clock.shift(timedelta(seconds=seconds))


def round_sent(capture: DjangoCaptureOnCommitCallbacks) -> None:
    """One evaluation round, its deliveries sent in-process once it commits."""
    with capture(execute=True):
        evaluate_all()


def test_a_breaker_and_the_error_rate_it_causes_page_once_naming_the_breaker(
    reporter: Reporter,
    hook: Channel,
    http_receiver: HttpReceiver,
    clock: TimeMachineFixture,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    breaker_rule(hook)
    make_rule(hook)  # payments errors
    reporter.post({"calls": failures(10), "breakers": [breaker("open")]})
    later(clock, 1)
    round_sent(django_capture_on_commit_callbacks)
    assert Alert.objects.filter(state="firing").count() == 2
    assert http_receiver.requests == []  # the group wait holds the first notice back
    later(clock, 10)
    round_sent(django_capture_on_commit_callbacks)
    later(clock, 15)
    round_sent(django_capture_on_commit_callbacks)
    assert len(http_receiver.requests) == 1
    body = http_receiver.requests[0].json()
    incident = Incident.objects.get()
    assert body["event"] == "firing"
    assert body["incident"]["id"] == incident.id and body["incident"]["severity"] == "critical"
    named = {(a["rule"], a["subject"], a["state"]) for a in body["incident"]["alerts"]}
    assert named == {("breaker open", "charge", "firing")}
    # The error rate is on the incident, inhibited by the breaker: recorded, not notified.
    breaker_alert, errors = (
        Alert.objects.get(rule__name="breaker open"),
        Alert.objects.get(rule__name="payments errors"),
    )
    assert errors.incident_id == incident.id and errors.inhibited_by == breaker_alert
    assert errors.events.filter(action="not notified", detail__startswith="firing: inhibited by breaker open").exists()
    # The fields a receiver of single alerts read are still there, for the first alert named.
    assert body["alert"]["id"] == breaker_alert.id and body["alert"]["rule"] == "breaker open"
    assert "breaker open" in body["text"] and "payments errors" not in body["text"]


def test_an_added_alert_updates_once_per_group_interval(
    reporter: Reporter,
    hook: Channel,
    http_receiver: HttpReceiver,
    clock: TimeMachineFixture,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    breaker_rule(hook)
    make_rule(hook)  # payments errors
    make_rule(hook, name="busy", metric="call_volume", threshold=25, min_calls=0, severity="low")
    reporter.post({"breakers": [breaker("open")]})
    later(clock, 1)
    round_sent(django_capture_on_commit_callbacks)
    later(clock, 11)
    round_sent(django_capture_on_commit_callbacks)
    assert [r.json()["event"] for r in http_receiver.requests] == ["firing"]
    reporter.post({"calls": failures(10)})  # the error rate rises after the first notice
    later(clock, 60)
    round_sent(django_capture_on_commit_callbacks)
    reporter.post({"calls": failures(20)})  # and the call volume a minute later
    later(clock, 60)
    round_sent(django_capture_on_commit_callbacks)
    assert Alert.objects.filter(state="firing").count() == 3
    assert len(http_receiver.requests) == 1  # within the group interval: still one notice
    later(clock, 300 - 120)
    round_sent(django_capture_on_commit_callbacks)
    later(clock, 15)
    round_sent(django_capture_on_commit_callbacks)
    events = [r.json()["event"] for r in http_receiver.requests]
    assert events == ["firing", "updated"]
    update = http_receiver.requests[1].json()["incident"]
    # The error rate is inhibited by the breaker: left out; the call volume is new.
    assert [a["rule"] for a in update["alerts"]] == ["breaker open", "busy"] and update["severity"] == "critical"
    assert Incident.objects.count() == 1


def test_all_resolved_sends_one_resolved_notice_after_the_hysteresis(
    reporter: Reporter,
    hook: Channel,
    http_receiver: HttpReceiver,
    clock: TimeMachineFixture,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    breaker_rule(hook)
    make_rule(hook)
    reporter.post({"calls": failures(10), "breakers": [breaker("open")]})
    later(clock, 1)
    round_sent(django_capture_on_commit_callbacks)
    later(clock, 11)
    round_sent(django_capture_on_commit_callbacks)
    reporter.post({"calls": successes(90), "breakers": [breaker("closed")]})
    later(clock, 15)
    round_sent(django_capture_on_commit_callbacks)
    # Clear, but not for MONITOR_RESOLVE_AFTER_S (120 s) yet: both stay open, nothing sent.
    assert Alert.objects.filter(state="firing").count() == 2
    assert len(http_receiver.requests) == 1
    later(clock, 121)
    round_sent(django_capture_on_commit_callbacks)
    later(clock, 15)
    round_sent(django_capture_on_commit_callbacks)
    assert [r.json()["event"] for r in http_receiver.requests] == ["firing", "resolved"]
    resolved = http_receiver.requests[1].json()["incident"]
    assert resolved["state"] == "resolved" and {a["state"] for a in resolved["alerts"]} == {"resolved"}
    assert Incident.objects.get().state == "resolved"


def test_an_incident_over_within_its_group_wait_sends_nothing(
    reporter: Reporter,
    hook: Channel,
    http_receiver: HttpReceiver,
    clock: TimeMachineFixture,
    settings: Settings,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    settings.MONITOR_RESOLVE_AFTER_S = 0
    make_rule(hook)
    reporter.post({"calls": failures(10)})
    round_sent(django_capture_on_commit_callbacks)
    reporter.post({"calls": successes(200)})
    later(clock, 5)
    round_sent(django_capture_on_commit_callbacks)
    later(clock, 30)
    round_sent(django_capture_on_commit_callbacks)
    assert http_receiver.requests == []
    assert "notification dropped" in [e.action for e in Incident.objects.get().events.all()]


def test_no_reminder_goes_to_a_channel_that_never_got_the_firing_notice(
    reporter: Reporter,
    hook: Channel,
    http_receiver: HttpReceiver,
    clock: TimeMachineFixture,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    rule = make_rule(hook, cooldown_minutes=30)
    reporter.post({"calls": failures(10)})
    round_sent(django_capture_on_commit_callbacks)
    later(clock, 11)
    round_sent(django_capture_on_commit_callbacks)
    late = Channel.objects.create(name="late log", kind="log", config={})
    rule.channels.add(late)  # added after the firing notice went out
    later(clock, 31 * 60)
    reporter.post({"calls": failures(10)})
    round_sent(django_capture_on_commit_callbacks)
    sent = sorted(Delivery.objects.values_list("channel__name", "event"))
    assert sent == [("ops hook", "firing"), ("ops hook", "reminder")]
    assert [r.json()["event"] for r in http_receiver.requests] == ["firing", "reminder"]
