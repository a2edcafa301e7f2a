from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pytest_django import DjangoCaptureOnCommitCallbacks

from alerts.evaluate import evaluate_all
from alerts.models import Alert, Channel
from monitoring.models import Function, Service
from tests.alert_fixtures import make_rule
from tests.conftest import Reporter, call

# Not about grouping or hysteresis: notices go without a group wait, clear conditions resolve at once.
pytestmark = pytest.mark.usefixtures("notify_at_once")


def ts(seconds_ago: float = 0) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds_ago)).isoformat()


def test_it_evaluates_a_breaker_opening_at_ingest_at_once(
    reporter: Reporter, log_channel: Channel, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    make_rule(log_channel, name="breaker open", metric="breaker_open_s", op=">", threshold=0, min_calls=0)
    with django_capture_on_commit_callbacks(execute=True):
        r = reporter.post({"instance": "pod-1", "breakers": [{"function": "charge", "state": "open", "ts": ts(1)}]})
    assert r.status_code == 202
    alert = Alert.objects.get()  # no evaluation round ran: the ingest hook did it
    assert (alert.subject, alert.metric) == ("charge", "breaker_open_s")
    assert alert.value >= 1
    reporter.post({"instance": "pod-1", "breakers": [{"function": "charge", "state": "closed", "ts": ts()}]})
    evaluate_all()
    assert Alert.objects.get().state == "resolved"


def test_it_waits_for_a_breaker_open_longer_than_n(reporter: Reporter, log_channel: Channel) -> None:
    make_rule(log_channel, metric="breaker_open_s", threshold=120, min_calls=0)
    reporter.post({"breakers": [{"function": "charge", "state": "open", "ts": ts(30)}]})
    assert evaluate_all().fired == 0
    reporter.post({"instance": "b", "breakers": [{"function": "charge", "state": "open", "ts": ts(200)}]})
    assert evaluate_all().fired == 1


def test_it_counts_breaker_flaps(reporter: Reporter, log_channel: Channel) -> None:
    make_rule(log_channel, metric="breaker_flips", op=">=", threshold=4, window_minutes=15, min_calls=0)
    states = ["closed", "open", "half_open", "open", "closed"]
    reporter.post({"breakers": [{"function": "charge", "state": s, "ts": ts(60 - i)} for i, s in enumerate(states)]})
    evaluate_all()
    assert Alert.objects.get().value == 4  # the first report is where the breaker starts, not a flip


def test_instances_reporting_for_the_first_time_are_not_flapping(reporter: Reporter, log_channel: Channel) -> None:
    make_rule(log_channel, metric="breaker_flips", op=">=", threshold=2, window_minutes=15, min_calls=0)
    for instance in "abcd":
        reporter.post({"instance": instance, "breakers": [{"function": "charge", "state": "open", "ts": ts(30)}]})
    assert evaluate_all().fired == 0


def test_it_watches_concurrency_utilisation(reporter: Reporter, log_channel: Channel) -> None:
    make_rule(log_channel, metric="concurrency_utilisation", op=">=", threshold=0.9, min_calls=0)
    reporter.post(
        {
            "concurrency": [
                {"function": "charge", "active": 9, "limit": 10, "ts": ts()},
                {"function": "refund", "active": 2, "limit": 10, "ts": ts()},
            ]
        }
    )
    evaluate_all()
    assert list(Alert.objects.values_list("subject", "value")) == [("charge", 0.9)]


def test_it_watches_dead_letter_growth(reporter: Reporter, log_channel: Channel) -> None:
    make_rule(log_channel, metric="dead_letter_growth", threshold=0, window_minutes=15)
    reporter.post(
        {
            "queues": [
                {"queue": "email_queue", "ts": ts(120), "depth": 5, "dead_letter": 2},
                {"queue": "sms_queue", "ts": ts(120), "depth": 5, "dead_letter": 7},
            ]
        }
    )
    reporter.post(
        {
            "queues": [
                {"queue": "email_queue", "ts": ts(), "depth": 5, "dead_letter": 5},
                {"queue": "sms_queue", "ts": ts(), "depth": 5, "dead_letter": 7},
            ]
        }
    )
    evaluate_all()
    from queues.models import Queue

    queue = Queue.objects.get(name="email_queue")
    assert list(Alert.objects.values_list("subject", "value", "fingerprint")) == [
        ("email_queue", 3.0, f"queue:{queue.id}")
    ]


def test_it_watches_queue_depth_and_oldest_age(reporter: Reporter, log_channel: Channel) -> None:
    make_rule(log_channel, name="deep", metric="queue_depth", threshold=100)
    make_rule(log_channel, name="old", metric="oldest_pending_age_s", threshold=600)
    reporter.post({"queues": [{"queue": "email_queue", "ts": ts(), "depth": 150, "oldest_age_s": 900.0}]})
    evaluate_all()
    assert sorted(Alert.objects.values_list("rule__name", "value")) == [("deep", 150.0), ("old", 900.0)]


def test_it_notices_a_silent_reporter(reporter: Reporter, service: Service, log_channel: Channel) -> None:
    make_rule(log_channel, metric="reporter_silent_minutes", threshold=10)
    reporter.post({"calls": [call()]})
    assert evaluate_all().fired == 0
    Function.objects.update(last_seen=datetime.now(UTC) - timedelta(minutes=11))
    evaluate_all()
    alert = Alert.objects.get()
    assert (alert.service, alert.subject, alert.fingerprint) == ("payments", "payments", f"service:{service.id}")
    assert alert.value > 10
