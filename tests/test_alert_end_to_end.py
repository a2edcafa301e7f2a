"""The whole path with real parts: ingest, evaluation and delivery on a real Celery worker,
a real Redis, a real HTTP receiver (webhook and Slack) and a real SMTP server."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Alert, Channel, Delivery
from alerts.tasks import evaluate_rules
from tests.alert_fixtures import People, failures, make_rule, successes
from tests.celery_worker import Worker
from tests.conftest import Reporter
from tests.receivers import HttpReceiver

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def wait_until(check, timeout: float = 15.0):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"not true within {timeout} s: {check}")


def test_it_notifies_acknowledges_and_resolves(
    celery_worker: Worker,
    http_receiver: HttpReceiver,
    smtp_server,
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
    reporter.post({"calls": failures(10)})

    evaluate_rules.delay()  # what beat does every MONITOR_EVALUATION_INTERVAL_S
    alert = wait_until(lambda: Alert.objects.filter(state="firing").first())
    requests = http_receiver.wait_for(2)
    assert sorted(r.path for r in requests) == ["/hook", "/slack"]
    mail = smtp_server.wait_for(1)[0]
    assert "payments errors" in mail["Subject"]
    wait_until(lambda: Delivery.objects.filter(state="sent").count() == 3)

    r = people.responder.post(f"/api/v1/alerts/{alert.id}/acknowledge", {"reason": "on it"})
    assert r.status_code == 200
    # Past the cooldown: a firing, unacknowledged alert would be reminded now.
    Alert.objects.filter(id=alert.id).update(next_reminder_at=timezone.now() - timedelta(seconds=1))
    Delivery.objects.update(created=timezone.now() - timedelta(hours=2))
    evaluate_rules.delay()
    wait_until(lambda: Alert.objects.get(id=alert.id).value is not None)
    time.sleep(1.0)
    assert Delivery.objects.count() == 3
    assert len(http_receiver.requests) == 2 and len(smtp_server.messages) == 1

    reporter.post({"calls": successes(90)})
    evaluate_rules.delay()
    wait_until(lambda: Alert.objects.get(id=alert.id).state == "resolved")
    requests = http_receiver.wait_for(4)
    assert requests[2].path != requests[3].path
    assert any(r.path == "/hook" and r.json()["event"] == "resolved" for r in requests[2:])
    smtp_server.wait_for(2)
    wait_until(lambda: Delivery.objects.filter(state="sent").count() == 6)
    timeline = people.viewer.get(f"/api/v1/alerts/{alert.id}").json()["timeline"]
    actions = [(e["actor"], e["action"]) for e in timeline]
    assert actions[:2] == [("system", "fired"), ("system", "notified")]
    assert ("bob", "acknowledged") in actions and ("system", "resolved") in actions
