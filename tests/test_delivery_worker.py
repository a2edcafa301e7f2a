"""Deliveries on a real Celery worker: retries through the broker, and a worker killed mid-send."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alerts import delivery, outbox
from alerts.models import Channel, Delivery, Event
from tests.alert_fixtures import make_alert, make_rule
from tests.celery_worker import Worker
from tests.receivers import HttpReceiver, Reply
from tests.waiting import wait_until

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def hook(http_receiver: HttpReceiver, no_defaults: None) -> Channel:
    return Channel.objects.create(
        name="hook", kind="webhook", config={"url": http_receiver.url(), "secret": "a-long-enough-secret"}
    )


def test_it_retries_through_the_broker(celery_worker: Worker, http_receiver: HttpReceiver, hook: Channel) -> None:
    http_receiver.respond_with([500, 200])
    alert = make_alert(make_rule(hook))
    outbox.notify(alert.incident, "firing")  # autocommit: the task goes to Redis at once
    wait_until(lambda: Delivery.objects.filter(state="sent").exists())
    sent = Delivery.objects.get()
    assert sent.attempts == 2
    assert len(http_receiver.requests) == 2
    actions = list(Event.objects.filter(alert=alert).values_list("action", "detail"))
    assert [a for a, _ in actions] == ["notification failed", "notified"]
    assert "attempt 1" in actions[0][1] and "answered 500" in actions[0][1]


def test_it_dead_letters_when_the_receiver_always_fails(
    celery_worker: Worker, http_receiver: HttpReceiver, hook: Channel
) -> None:
    http_receiver.respond_with([503])
    outbox.notify(make_alert(make_rule(hook)).incident, "firing")
    dead = wait_until(lambda: Delivery.objects.filter(state="dead").first())
    assert dead.attempts == 4  # the first try and one per entry of the 3-step test schedule
    assert dead.last_error == "127.0.0.1 answered 503"
    assert len(http_receiver.requests) == 4


def test_it_still_delivers_when_the_worker_dies_mid_send(
    celery_worker: Worker, http_receiver: HttpReceiver, hook: Channel
) -> None:
    http_receiver.respond_with([Reply(200, delay=30.0), Reply(200)])
    outbox.notify(make_alert(make_rule(hook)).incident, "firing")
    first = http_receiver.wait_for(1)[0]
    celery_worker.kill()
    stuck = Delivery.objects.get()
    assert (stuck.state, stuck.attempts) == ("sending", 1)

    celery_worker.start()
    assert delivery.sweep() == 0  # within the lease the dead worker's claim still holds
    # Past the lease: the claim moves back, as the worker keeps its own clock.
    Delivery.objects.filter(id=stuck.id).update(claimed_at=stuck.claimed_at - delivery.lease() - timedelta(seconds=1))
    assert delivery.sweep() == 1  # the periodic sweep finds what the dead worker left behind
    wait_until(lambda: Delivery.objects.filter(state="sent").exists())
    second = http_receiver.requests[1]
    assert second.headers["Idempotency-Key"] == first.headers["Idempotency-Key"] == str(stuck.idempotency_key)
    assert Delivery.objects.get().attempts == 2
    assert len(http_receiver.requests) == 2
