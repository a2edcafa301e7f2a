"""Expire on resolve: the silence ends by itself once the alerts it held are resolved, so the
next failure notifies again."""

from __future__ import annotations

import pytest
from django.utils import timezone

from alerts.evaluate import evaluate_all
from alerts.models import Alert, Channel, Delivery, Silence
from monitoring.models import AuditEntry
from tests.alert_fixtures import People, failures, make_rule, successes
from tests.conftest import Reporter

# Not about grouping or hysteresis: notices go without a group wait, clear conditions resolve at once.
pytestmark = pytest.mark.usefixtures("notify_at_once")


def test_it_ends_when_the_alerts_it_held_resolve(people: People, reporter: Reporter, log_channel: Channel) -> None:
    make_rule(log_channel)
    body = {"service": "payments", "minutes": 240, "expire_on_resolve": True, "comment": "until the fix is out"}
    r = people.responder.post("/api/v1/silences", body)
    assert r.status_code == 201 and r.json()["expire_on_resolve"] is True
    silence = Silence.objects.get()

    reporter.post({"calls": failures(10)})
    evaluate_all()
    alert = Alert.objects.get()
    assert alert.is_suppressed() and not Delivery.objects.exists()
    evaluate_all()  # still firing: the silence holds on
    assert Silence.objects.get().ends_at > timezone.now()

    reporter.post({"calls": successes(90)})
    evaluate_all()
    assert Alert.objects.get().state == "resolved"
    evaluate_all()
    silence.refresh_from_db()
    assert silence.ends_at <= timezone.now()
    assert people.viewer.get(f"/api/v1/silences/{silence.id}").json()["state"] == "expired"
    entry = AuditEntry.objects.filter(kind="silence").latest("id")
    assert (entry.actor_name, entry.action) == ("system", "ended")

    reporter.post({"calls": failures(40)})
    evaluate_all()
    again = Alert.objects.get(state="firing")
    assert again.id != alert.id and not again.is_suppressed()
    assert Delivery.objects.filter(alert=again, event="firing").count() == 1


def test_one_that_never_held_an_alert_runs_to_its_end(people: People, reporter: Reporter, log_channel: Channel) -> None:
    make_rule(log_channel)
    r = people.responder.post("/api/v1/silences", {"service": "billing", "minutes": 60, "expire_on_resolve": True})
    assert r.status_code == 201
    reporter.post({"calls": failures(10)})  # payments fires: not this silence's
    evaluate_all()
    reporter.post({"calls": successes(90)})
    evaluate_all()
    evaluate_all()
    assert Alert.objects.get().state == "resolved"
    assert Silence.objects.get().ends_at > timezone.now()
    assert Silence.objects.get().matched_at is None


def test_without_the_option_a_silence_outlives_its_alerts(
    people: People, reporter: Reporter, log_channel: Channel
) -> None:
    make_rule(log_channel)
    people.responder.post("/api/v1/silences", {"service": "payments", "minutes": 60})
    reporter.post({"calls": failures(10)})
    evaluate_all()
    reporter.post({"calls": successes(90)})
    evaluate_all()
    evaluate_all()
    assert Alert.objects.get().state == "resolved"
    assert Silence.objects.get().ends_at > timezone.now()
