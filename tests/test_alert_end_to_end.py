"""The whole path with real parts: ingest, evaluation and delivery on a real Celery worker,
a real Redis, a real HTTP receiver (webhook and Slack) and a real SMTP server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Alert, Channel, Delivery, Incident
from alerts.tasks import evaluate_rules
from tests.alert_fixtures import People, failures, make_rule, successes
from tests.celery_worker import Worker
from tests.conftest import Reporter
from tests.receivers import HttpReceiver, SmtpReceiver
from tests.waiting import wait_until

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def sent(alert: Alert, event: str) -> int:
    return Delivery.objects.filter(alert=alert, event=event, state="sent").count()


def test_it_notifies_acknowledges_and_resolves(
    celery_worker: Worker,
    http_receiver: HttpReceiver,
    smtp_server: SmtpReceiver,
    reporter: Reporter,
    people: People,
    no_defaults: None,
) -> None:
    channels = [
        Channel.objects.create(
            name="hook", kind="webhook", config={"url": http_receiver.url("/hook"), "secret": "a-long-enough-secret"}
        ),
        Channel.objects.create(name="slack", kind="slack", config={"url": http_receiver.url("/slack")}),
        Channel.objects.create(name="mail", kind="email", config={"to": ["oncall@example.org"]}),
    ]
    make_rule(*channels)
    # Two subjects of one rule: "refund" is the twin that nobody acknowledges.
    reporter.post({"calls": failures(10, "charge") + failures(10, "refund")})

    evaluate_rules.delay()  # what beat does every MONITOR_EVALUATION_INTERVAL_S
    wait_until(lambda: Alert.objects.filter(state="firing").count() == 2)
    alert, twin = Alert.objects.get(subject="charge"), Alert.objects.get(subject="refund")
    requests = http_receiver.wait_for(4)
    assert sorted(r.path for r in requests) == ["/hook", "/hook", "/slack", "/slack"]
    mail = smtp_server.wait_for(2)[0]
    assert "payments errors" in mail["Subject"]
    wait_until(lambda: Delivery.objects.filter(state="sent").count() == 6)

    r = people.responder.post(f"/api/v1/alerts/{alert.id}/acknowledge", {"reason": "on it"})
    assert r.status_code == 200
    # Past the cooldown (the worker keeps its own clock, so the rows move back instead):
    # an incident still firing unacknowledged is reminded now (the two alerts are two incidents).
    Incident.objects.update(next_reminder_at=timezone.now() - timedelta(seconds=1))
    Delivery.objects.update(created=timezone.now() - timedelta(hours=2))
    evaluate_rules.delay()
    # The solo worker sends the twin's reminders only after the whole round, which
    # considered the acknowledged alert too.
    wait_until(lambda: sent(twin, "reminder") == 3)
    assert Delivery.objects.filter(alert=alert, event="reminder").count() == 0
    requests = http_receiver.wait_for(6)
    assert [(r.json()["event"], r.json()["alert"]["id"]) for r in requests[4:] if r.path == "/hook"] == [
        ("reminder", twin.id)
    ]
    assert len(smtp_server.wait_for(3)) == 3

    reporter.post({"calls": successes(90, "charge")})
    evaluate_rules.delay()
    wait_until(lambda: Alert.objects.get(id=alert.id).state == "resolved")
    requests = http_receiver.wait_for(8)
    assert requests[6].path != requests[7].path
    assert any(r.path == "/hook" and r.json()["event"] == "resolved" for r in requests[6:])
    smtp_server.wait_for(4)
    wait_until(lambda: sent(alert, "resolved") == 3)
    timeline = people.viewer.get(f"/api/v1/alerts/{alert.id}").json()["timeline"]
    actions = [(e["actor"], e["action"]) for e in timeline]
    assert actions[:2] == [("system", "fired"), ("system", "notified")]
    assert ("bob", "acknowledged") in actions and ("system", "resolved") in actions
    assert ("system", "still firing") not in actions
