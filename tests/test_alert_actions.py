from __future__ import annotations

import pytest
from pytest_django import DjangoCaptureOnCommitCallbacks

from alerts.models import Alert, Channel, Event, Silence
from tests.alert_fixtures import People, make_alert, make_rule

# Not about grouping or hysteresis: notices go without a group wait, clear conditions resolve at once.
pytestmark = pytest.mark.usefixtures("notify_at_once")


def test_it_acknowledges_with_a_reason(people: People, log_channel: Channel) -> None:
    alert = make_alert(make_rule(log_channel))
    r = people.responder.post(f"/api/v1/alerts/{alert.id}/acknowledge", {"reason": "on it"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["state"] == "acknowledged"
    assert body["acknowledged_by"] == "bob"
    assert body["timeline"][-1] == {**body["timeline"][-1], "actor": "bob", "action": "acknowledged", "detail": "on it"}
    alert.refresh_from_db()
    assert alert.state == "acknowledged" and alert.acknowledged_at is not None


def test_it_answers_409_when_acknowledging_a_resolved_alert(people: People, log_channel: Channel) -> None:
    alert = make_alert(make_rule(log_channel), state="resolved")
    r = people.responder.post(f"/api/v1/alerts/{alert.id}/acknowledge")
    assert r.status_code == 409
    assert "resolved" in r.json()["detail"]
    assert not Event.objects.filter(alert=alert).exists()


def test_it_forbids_viewers_to_act(people: People, log_channel: Channel) -> None:
    alert = make_alert(make_rule(log_channel))
    r = people.viewer.post(f"/api/v1/alerts/{alert.id}/acknowledge")
    assert r.status_code == 403
    alert.refresh_from_db()
    assert alert.state == "firing"
    assert people.viewer.get(f"/api/v1/alerts/{alert.id}").status_code == 200


def test_it_unacknowledges(people: People, log_channel: Channel) -> None:
    alert = make_alert(make_rule(log_channel))
    people.responder.post(f"/api/v1/alerts/{alert.id}/acknowledge")
    r = people.admin.post(f"/api/v1/alerts/{alert.id}/unacknowledge")
    assert r.status_code == 200
    assert r.json()["state"] == "firing"
    assert r.json()["acknowledged_by"] is None
    assert [e["action"] for e in r.json()["timeline"]] == ["acknowledged", "unacknowledged"]
    assert people.admin.post(f"/api/v1/alerts/{alert.id}/unacknowledge").status_code == 409


def test_it_resolves_by_hand_and_sends_the_resolved_notice(
    people: People, log_channel: Channel, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    alert = make_alert(make_rule(log_channel))
    alert.deliveries.create(incident=alert.incident, channel=log_channel, event="firing", state="sent")
    with django_capture_on_commit_callbacks(execute=True):
        r = people.responder.post(f"/api/v1/alerts/{alert.id}/resolve", {"comment": "fixed the config"})
    assert r.status_code == 200
    body = r.json()
    assert body["state"] == "resolved" and body["resolved_at"]
    resolved = next(e for e in body["timeline"] if e["action"] == "resolved")
    assert (resolved["actor"], resolved["detail"]) == ("bob", "fixed the config")
    # The log channel sends in-process, after commit.
    delivery = alert.deliveries.get(event="resolved")
    assert delivery.state == "sent" and delivery.attempts == 1
    # The notice is its incident's: it names the incident, and the alert as resolved.
    assert delivery.message["text"].startswith(f"Resolved: incident {alert.incident_id} on payments/charge, 1 alert:\n")
    assert "- payments errors (critical, resolved)" in delivery.message["text"]
    assert Event.objects.filter(alert=alert, action="notified").count() == 1
    assert people.responder.post(f"/api/v1/alerts/{alert.id}/resolve").status_code == 409


def test_it_suppresses_for_a_while(people: People, log_channel: Channel) -> None:
    alert = make_alert(make_rule(log_channel))
    r = people.responder.post(f"/api/v1/alerts/{alert.id}/suppress", {"minutes": 60, "comment": "deploying"})
    assert r.status_code == 200, r.content
    assert r.json()["suppressed_until"] is not None
    silence = Silence.objects.get()
    assert silence.fingerprint == alert.fingerprint and silence.rule_id == alert.rule_id
    listed = people.viewer.get("/api/v1/alerts", state="suppressed").json()
    assert [a["id"] for a in listed["items"]] == [alert.id]
    assert people.viewer.get("/api/v1/alerts", state="firing").json()["count"] == 1


def test_it_names_the_field_of_a_bad_suppress(people: People, log_channel: Channel) -> None:
    alert = make_alert(make_rule(log_channel))
    r = people.responder.post(f"/api/v1/alerts/{alert.id}/suppress", {"minutes": 0})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("minutes: ")


def test_it_comments(people: People, log_channel: Channel) -> None:
    alert = make_alert(make_rule(log_channel), state="resolved")
    r = people.responder.post(f"/api/v1/alerts/{alert.id}/comment", {"text": "root cause: DNS"})
    assert r.status_code == 201
    assert r.json()["actor"] == "bob"
    assert Event.objects.get(alert=alert).detail == "root cause: DNS"


def test_it_answers_404_for_a_missing_alert(people: People, no_defaults: None) -> None:
    assert people.responder.post("/api/v1/alerts/999/acknowledge").status_code == 404


def test_it_asks_for_csrf_on_cookie_authenticated_actions(people: People, log_channel: Channel) -> None:
    from django.test import Client

    alert = make_alert(make_rule(log_channel))
    client = Client(enforce_csrf_checks=True)
    client.force_login(people.responder.user)
    r = client.post(f"/api/v1/alerts/{alert.id}/acknowledge", "{}", content_type="application/json")
    assert r.status_code == 403
    assert Alert.objects.get(id=alert.id).state == "firing"


def test_it_takes_a_personal_token_without_csrf(people: People, log_channel: Channel) -> None:
    from django.test import Client

    alert = make_alert(make_rule(log_channel))
    token = people.token_for(people.responder)
    r = Client(enforce_csrf_checks=True).post(
        f"/api/v1/alerts/{alert.id}/acknowledge",
        "{}",
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200
    assert Alert.objects.get(id=alert.id).acknowledged_by == people.responder.user
