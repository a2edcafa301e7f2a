from __future__ import annotations

import pytest

from alerts.evaluate import evaluate_all
from alerts.models import Alert, Channel, Delivery, Event
from tests.alert_fixtures import at_once, failures, make_rule, successes
from tests.conftest import Reporter

# Not about grouping or hysteresis: notices go without a group wait, clear conditions resolve at once.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("notify_at_once")]


def test_two_evaluators_never_both_fire_one_alert(reporter: Reporter, log_channel: Channel) -> None:
    make_rule(log_channel)
    reporter.post({"calls": failures(10)})
    outcomes = at_once(4, evaluate_all)
    assert len(outcomes) == 4
    assert sum(outcome.fired for outcome in outcomes) == 1
    assert Alert.objects.count() == 1
    assert Delivery.objects.count() == 1
    assert Event.objects.filter(action="fired").count() == 1


def test_two_evaluators_never_both_resolve_one_alert(reporter: Reporter, log_channel: Channel) -> None:
    make_rule(log_channel)
    reporter.post({"calls": failures(10)})
    evaluate_all()
    reporter.post({"calls": successes(90)})
    outcomes = at_once(4, evaluate_all)
    assert sum(outcome.resolved for outcome in outcomes) == 1
    assert Delivery.objects.filter(event="resolved").count() == 1
