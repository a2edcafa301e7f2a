from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from alerts.evaluate import evaluate_all
from alerts.models import Alert, Channel, Delivery
from tests.alert_fixtures import People, failures, make_rule, successes
from tests.conftest import Reporter


def due_now(alert: Alert) -> None:
    """Move the clock past the cooldown: the reminder is due and the last notice is old."""
    Alert.objects.filter(id=alert.id).update(next_reminder_at=timezone.now() - timedelta(seconds=1))
    Delivery.objects.filter(alert=alert).update(created=timezone.now() - timedelta(hours=2))


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


def test_it_reminds_once_per_cooldown(reporter: Reporter, log_channel: Channel) -> None:
    make_rule(log_channel, cooldown_minutes=30)
    reporter.post({"calls": failures(10)})
    evaluate_all()
    due_now(Alert.objects.get())
    assert evaluate_all().reminded == 1
    assert evaluate_all().reminded == 0
    assert events("reminder") == ["log"]
    assert "still firing" in [e.action for e in Alert.objects.get().events.all()]


def test_it_sends_no_reminders_once_acknowledged(reporter: Reporter, people: People, log_channel: Channel) -> None:
    make_rule(log_channel)
    reporter.post({"calls": failures(10)})
    evaluate_all()
    alert = Alert.objects.get()
    people.responder.post(f"/api/v1/alerts/{alert.id}/acknowledge", {"reason": "looking"})
    due_now(alert)
    assert evaluate_all().reminded == 0
    assert events("reminder") == []


def test_it_reminds_again_after_the_acknowledgement_lapses(
    reporter: Reporter, people: People, log_channel: Channel
) -> None:
    make_rule(log_channel)
    reporter.post({"calls": failures(10)})
    evaluate_all()
    alert = Alert.objects.get()
    r = people.responder.post(f"/api/v1/alerts/{alert.id}/acknowledge", {"remind_after_minutes": 30})
    assert r.status_code == 200
    Alert.objects.filter(id=alert.id).update(ack_expires_at=timezone.now() - timedelta(seconds=1))
    Delivery.objects.update(created=timezone.now() - timedelta(hours=2))
    assert evaluate_all().reminded == 1
    assert events("reminder") == ["log"]
    alert.refresh_from_db()
    assert alert.state == "firing" and alert.acknowledged_by is None
    actions = [e.action for e in alert.events.all()]
    assert actions == ["fired", "acknowledged", "acknowledgement lapsed", "still firing"]


def test_it_holds_notifications_while_suppressed(reporter: Reporter, people: People, log_channel: Channel) -> None:
    make_rule(log_channel)
    reporter.post({"calls": failures(10)})
    evaluate_all()
    alert = Alert.objects.get()
    people.responder.post(f"/api/v1/alerts/{alert.id}/suppress", {"minutes": 60})
    due_now(alert)
    evaluate_all()
    assert events("reminder") == []
    assert "notification held" in [e.action for e in alert.events.all()]


def test_it_sends_one_resolved_notice_only_to_channels_that_heard(reporter: Reporter, log_channel: Channel) -> None:
    quiet = Channel.objects.create(name="quiet", kind="log", config={})
    rule = make_rule(log_channel)
    reporter.post({"calls": failures(10)})
    evaluate_all()
    rule.channels.add(quiet)
    reporter.post({"calls": successes(90)})
    evaluate_all()
    assert events("resolved") == ["log"]
