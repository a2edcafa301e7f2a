from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.evaluate import evaluate_all
from alerts.lifecycle import Observation, fire
from alerts.models import Alert, Breach, Channel, Delivery
from tests.alert_fixtures import failures, make_rule, successes
from tests.conftest import Reporter, call, now_iso

# Not about grouping or hysteresis: notices go without a group wait, clear conditions resolve at once.
pytestmark = pytest.mark.usefixtures("notify_at_once")


def test_it_fires_on_the_error_rate(reporter: Reporter, log_channel: Channel) -> None:
    rule = make_rule(log_channel)
    reporter.post({"calls": failures(6) + successes(4)})
    assert evaluate_all().fired == 1
    alert = Alert.objects.get()
    assert (alert.rule, alert.state, alert.service, alert.subject) == (rule, "firing", "payments", "charge")
    assert alert.value == 0.6
    assert alert.summary == "error_rate is 0.6 (> 0.2) on payments/charge"
    assert [e.action for e in alert.events.all()] == ["fired"]
    assert Delivery.objects.get().event == "firing"


def test_it_needs_the_minimum_calls(reporter: Reporter, log_channel: Channel) -> None:
    make_rule(log_channel, min_calls=10)
    reporter.post({"calls": failures(9)})
    assert evaluate_all().fired == 0
    assert not Alert.objects.exists()


def test_it_keeps_to_the_rule_scope(reporter: Reporter, log_channel: Channel) -> None:
    make_rule(log_channel, subject="refund*")
    reporter.post({"calls": failures(10, "charge") + failures(10, "refund_card")})
    evaluate_all()
    assert list(Alert.objects.values_list("subject", flat=True)) == ["refund_card"]


def test_it_resolves_when_the_condition_clears(reporter: Reporter, log_channel: Channel) -> None:
    make_rule(log_channel)
    reporter.post({"calls": failures(10)})
    evaluate_all()
    reporter.post({"calls": successes(90)})
    assert evaluate_all().resolved == 1
    alert = Alert.objects.get()
    assert alert.state == "resolved" and alert.resolved_at is not None
    assert [e.action for e in alert.events.all()] == ["fired", "resolved"]
    assert list(alert.deliveries.values_list("event", flat=True).order_by("id")) == ["firing", "resolved"]


def test_it_holds_until_the_resolve_threshold(reporter: Reporter, log_channel: Channel) -> None:
    make_rule(log_channel, threshold=0.5, resolve_threshold=0.2)
    reporter.post({"calls": failures(10)})
    evaluate_all()
    reporter.post({"calls": successes(15)})  # 10 of 25 = 0.4: under 0.5, over 0.2
    assert evaluate_all().resolved == 0
    assert Alert.objects.get().value == 0.4
    reporter.post({"calls": successes(25)})  # 10 of 50 = 0.2
    assert evaluate_all().resolved == 1


def test_it_waits_for_the_for_duration(reporter: Reporter, log_channel: Channel) -> None:
    rule = make_rule(log_channel, for_seconds=60)
    reporter.post({"calls": failures(10)})
    assert evaluate_all().fired == 0
    breach = Breach.objects.get(rule=rule)
    Breach.objects.filter(id=breach.id).update(since=timezone.now() - timedelta(seconds=61))
    assert evaluate_all().fired == 1


def test_it_forgets_a_breach_that_cleared(reporter: Reporter, log_channel: Channel) -> None:
    make_rule(log_channel, for_seconds=60)
    reporter.post({"calls": failures(10)})
    evaluate_all()
    reporter.post({"calls": successes(90)})
    evaluate_all()
    assert not Breach.objects.exists()


def test_it_never_opens_two_alerts_for_one_subject(log_channel: Channel) -> None:
    rule = make_rule(log_channel)
    observation = Observation("function:1", "payments", "charge", 0.9)
    assert fire(rule, observation) is not None
    assert fire(rule, observation) is None  # a second evaluator loses on the unique constraint
    assert Alert.objects.count() == 1
    assert Delivery.objects.count() == 1


def queries_in_a_round() -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        evaluate_all()
    return len(queries)


def test_it_reads_the_same_number_of_queries_for_any_number_of_subjects(
    reporter: Reporter, log_channel: Channel
) -> None:
    make_rule(log_channel, metric="p95_ms", threshold=10_000)
    make_rule(log_channel, metric="error_rate", threshold=0.5)
    make_rule(log_channel, metric="breaker_open_s", threshold=10_000, min_calls=0)
    make_rule(log_channel, metric="dead_letter_growth", threshold=1000, service="*")
    reporter.post({"calls": [call(f"f{i}") for i in range(5)]})
    few = queries_in_a_round()
    reporter.post(
        {
            "calls": [call(f"g{i}") for i in range(300)],
            "breakers": [{"function": f"g{i}", "state": "open", "ts": now_iso()} for i in range(100)],
            "queues": [{"queue": f"q{i}", "ts": now_iso(), "depth": 1} for i in range(50)],
        }
    )
    many = queries_in_a_round()
    assert few == many
    # 14, one for the round's inhibition pass, one for the incident notices due and one for
    # the reminders due.
    assert many <= 17
