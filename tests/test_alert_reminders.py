from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from time_machine import TimeMachineFixture

from alerts.evaluate import evaluate_all
from alerts.models import Alert, Channel, Delivery
from tests.alert_fixtures import People, failures, make_rule, successes
from tests.conftest import Reporter

# Not about grouping or hysteresis: notices go without a group wait, clear conditions resolve at once.
pytestmark = pytest.mark.usefixtures("notify_at_once")


def later(time_machine: TimeMachineFixture, reporter: Reporter, minutes: float, *functions: str) -> None:
    """Move the clock on by minutes, with the functions still failing then."""
    time_machine.move_to(timezone.now() + timedelta(minutes=minutes))
    for function in functions or ("charge",):
        reporter.post({"calls": failures(10, function)})


def events(kind: str) -> list[str]:
    return list(Delivery.objects.filter(event=kind).values_list("channel__name", flat=True))


def test_it_holds_the_cooldown_under_repeated_evaluation(reporter: Reporter, log_channel: Channel) -> None:
    make_rule(log_channel, cooldown_minutes=60)
    reporter.post({"calls": failures(10)})
    for _ in range(5):
        evaluate_all()
    assert Delivery.objects.count() == 1
    alert = Alert.objects.get()
    assert alert.next_reminder_at > timezone.now() + timedelta(minutes=59)


def test_it_reminds_once_per_cooldown(
    reporter: Reporter, log_channel: Channel, time_machine: TimeMachineFixture
) -> None:
    make_rule(log_channel, cooldown_minutes=30)
    reporter.post({"calls": failures(10)})
    evaluate_all()
    later(time_machine, reporter, 29)
    assert evaluate_all().reminded == 0
    later(time_machine, reporter, 2)
    assert evaluate_all().reminded == 1
    assert evaluate_all().reminded == 0
    assert events("reminder") == ["log"]
    # Reminders are the incident's: the line is on its timeline.
    assert "still firing" in [e.action for e in Alert.objects.get().incident.events.all()]


def test_it_sends_no_reminders_once_acknowledged(
    reporter: Reporter, people: People, log_channel: Channel, time_machine: TimeMachineFixture
) -> None:
    make_rule(log_channel, cooldown_minutes=60)
    reporter.post({"calls": failures(10, "charge") + failures(10, "refund")})
    evaluate_all()
    acknowledged = Alert.objects.get(subject="charge")
    r = people.responder.post(f"/api/v1/alerts/{acknowledged.id}/acknowledge", {"reason": "looking"})
    assert r.status_code == 200
    later(time_machine, reporter, 61, "charge", "refund")
    # The unacknowledged twin shows that a reminder was due for both.
    assert evaluate_all().reminded == 1
    reminders = Delivery.objects.filter(event="reminder")
    assert [d.alert.subject for d in reminders] == ["refund"]


def test_it_reminds_again_after_the_acknowledgement_lapses(
    reporter: Reporter, people: People, log_channel: Channel, time_machine: TimeMachineFixture
) -> None:
    make_rule(log_channel, cooldown_minutes=60)
    reporter.post({"calls": failures(10)})
    evaluate_all()
    alert = Alert.objects.get()
    r = people.responder.post(f"/api/v1/alerts/{alert.id}/acknowledge", {"remind_after_minutes": 90})
    assert r.status_code == 200
    later(time_machine, reporter, 61)
    assert evaluate_all().reminded == 0  # past the cooldown, but still acknowledged
    later(time_machine, reporter, 30)
    assert evaluate_all().reminded == 1
    assert events("reminder") == ["log"]
    alert.refresh_from_db()
    assert alert.state == "firing" and alert.acknowledged_by is None
    actions = [e.action for e in alert.events.all()]
    assert actions == ["fired", "acknowledged", "acknowledgement lapsed"]
    # The reminder is its incident's, which went back to open when the acknowledgement lapsed.
    incident_actions = [e.action for e in alert.incident.events.all()]
    assert incident_actions[-3:] == ["incident acknowledged", "incident open", "still firing"]


def test_it_holds_notifications_while_suppressed(
    reporter: Reporter, people: People, log_channel: Channel, time_machine: TimeMachineFixture
) -> None:
    make_rule(log_channel, cooldown_minutes=30)
    reporter.post({"calls": failures(10)})
    evaluate_all()
    alert = Alert.objects.get()
    people.responder.post(f"/api/v1/alerts/{alert.id}/suppress", {"minutes": 60})
    later(time_machine, reporter, 31)
    evaluate_all()
    assert events("reminder") == []
    assert "notification held" in [e.action for e in alert.incident.events.all()]
    later(time_machine, reporter, 30)  # the silence is over
    evaluate_all()
    assert events("reminder") == ["log"]


def test_it_sends_one_resolved_notice_only_to_channels_that_heard(reporter: Reporter, log_channel: Channel) -> None:
    quiet = Channel.objects.create(name="quiet", kind="log", config={})
    rule = make_rule(log_channel)
    reporter.post({"calls": failures(10)})
    evaluate_all()
    rule.channels.add(quiet)
    reporter.post({"calls": successes(90)})
    evaluate_all()
    assert events("resolved") == ["log"]
