from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.evaluate import evaluate_all
from alerts.models import Alert, Channel, Delivery, Silence
from tests.alert_fixtures import People, failures, make_rule
from tests.conftest import Reporter

# Not about grouping or hysteresis: notices go without a group wait, clear conditions resolve at once.
pytestmark = pytest.mark.usefixtures("notify_at_once")


def test_it_silences_a_whole_service(people: People, reporter: Reporter, log_channel: Channel) -> None:
    make_rule(log_channel)
    r = people.admin.post("/api/v1/silences", {"service": "payments", "minutes": 60, "comment": "migration"})
    assert r.status_code == 201, r.content
    assert r.json()["active"] is True and r.json()["created_by"] == "alice"
    reporter.post({"calls": failures(10)})
    evaluate_all()
    alert = Alert.objects.get()
    assert alert.suppressed_until is not None
    assert not Delivery.objects.exists()
    assert people.viewer.get("/api/v1/alerts", state="suppressed").json()["count"] == 1


def test_it_holds_a_maintenance_window_until_it_starts(
    people: People, reporter: Reporter, log_channel: Channel
) -> None:
    rule = make_rule(log_channel)
    starts = timezone.now() + timedelta(hours=1)
    body = {"rule": rule.id, "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=2)).isoformat()}
    r = people.admin.post("/api/v1/silences", body)
    assert r.status_code == 201 and r.json()["active"] is False
    reporter.post({"calls": failures(10)})
    evaluate_all()
    assert Delivery.objects.count() == 1  # the window has not started
    Silence.objects.update(starts_at=timezone.now() - timedelta(minutes=1))
    evaluate_all()
    assert Alert.objects.get().suppressed_until is not None


def test_it_ends_a_silence_early(people: People, log_channel: Channel) -> None:
    silence_id = people.admin.post("/api/v1/silences", {"minutes": 30}).json()["id"]
    assert people.admin.delete(f"/api/v1/silences/{silence_id}").status_code == 204
    assert Silence.objects.get().ends_at <= timezone.now()


def test_it_checks_the_window(people: People, no_defaults: None) -> None:
    r = people.admin.post("/api/v1/silences", {"service": "payments"})
    assert r.status_code == 422 and r.json()["detail"].startswith("ends_at: ")
    r = people.admin.post("/api/v1/silences", {"minutes": 10, "rule": 12345})
    assert r.status_code == 422 and r.json()["detail"].startswith("rule: ")
    assert people.viewer.post("/api/v1/silences", {"minutes": 10}).status_code == 403
    assert not Silence.objects.exists()


def test_ending_a_silence_early_lets_its_alerts_notify_again(
    people: People, reporter: Reporter, log_channel: Channel
) -> None:
    make_rule(log_channel)
    silence_id = people.responder.post("/api/v1/silences", {"service": "payments", "minutes": 60}).json()["id"]
    reporter.post({"calls": failures(10)})
    evaluate_all()
    assert Alert.objects.get().is_suppressed()
    assert people.responder.delete(f"/api/v1/silences/{silence_id}").status_code == 204
    alert = Alert.objects.get()
    assert alert.suppressed_until is None
    assert list(alert.events.values_list("action", flat=True))[-1] == "suppression ended"
