"""The incidents API: viewers read, responders act on the incident and its alerts together;
the alert-level actions keep the incident's state in line."""

from __future__ import annotations

import pytest
from django.test import Client

from alerts.models import Alert, Channel, Incident
from tests.alert_fixtures import People, make_alert, make_rule


def two_alerts(log_channel: Channel) -> tuple[Incident, Alert, Alert]:
    errors = make_alert(make_rule(log_channel))
    breaker = make_alert(make_rule(log_channel, name="breaker open", metric="breaker_open_s", severity="high"))
    incident = errors.incident
    assert breaker.incident == incident
    return incident, errors, breaker


READS = ["/api/v1/incidents", "/api/v1/incidents/{id}"]
ACTIONS = [("acknowledge", {"reason": "on it"}), ("suppress", {"minutes": 60}), ("resolve", {"comment": "fixed"})]


@pytest.mark.parametrize("path", READS)
def test_anonymous_gets_401(log_channel: Channel, client: Client, path: str) -> None:
    incident, _, _ = two_alerts(log_channel)
    assert client.get(path.format(id=incident.id)).status_code == 401


@pytest.mark.parametrize("action", [a for a, _ in ACTIONS])
def test_anonymous_cannot_act(log_channel: Channel, client: Client, action: str) -> None:
    incident, _, _ = two_alerts(log_channel)
    r = client.post(f"/api/v1/incidents/{incident.id}/{action}", {}, content_type="application/json")
    assert r.status_code == 401
    assert Incident.objects.get().state == "open"


@pytest.mark.parametrize("who", ["viewer", "responder", "admin"])
def test_every_role_reads_the_list_and_the_incident(people: People, log_channel: Channel, who: str) -> None:
    incident, errors, breaker = two_alerts(log_channel)
    person = getattr(people, who)
    listed = person.get("/api/v1/incidents").json()
    assert listed["count"] == 1
    row = listed["items"][0]
    assert (row["id"], row["state"], row["severity"], row["alert_count"]) == (incident.id, "open", "critical", 2)
    detail = person.get(f"/api/v1/incidents/{incident.id}").json()
    assert [a["id"] for a in detail["alerts"]] == [errors.id, breaker.id]
    assert all(a["incident_id"] == incident.id for a in detail["alerts"])


def test_the_list_filters_by_state(people: People, log_channel: Channel) -> None:
    two_alerts(log_channel)
    make_alert(make_rule(log_channel, name="old"), subject="refund", state="resolved")
    assert people.viewer.get("/api/v1/incidents", state="open").json()["count"] == 1
    assert people.viewer.get("/api/v1/incidents", state="resolved").json()["count"] == 1
    assert people.viewer.get("/api/v1/incidents", state="nonsense").status_code == 422


@pytest.mark.parametrize(("action", "body"), ACTIONS)
def test_a_viewer_cannot_act(people: People, log_channel: Channel, action: str, body: dict) -> None:
    incident, errors, _ = two_alerts(log_channel)
    assert people.viewer.post(f"/api/v1/incidents/{incident.id}/{action}", body).status_code == 403
    errors.refresh_from_db()
    assert errors.state == "firing" and errors.suppressed_until is None


@pytest.mark.parametrize("who", ["responder", "admin"])
def test_acknowledging_the_incident_acknowledges_its_alerts(people: People, log_channel: Channel, who: str) -> None:
    incident, errors, breaker = two_alerts(log_channel)
    person = getattr(people, who)
    r = person.post(f"/api/v1/incidents/{incident.id}/acknowledge", {"reason": "on it"})
    assert r.status_code == 200
    body = r.json()
    assert body["state"] == "acknowledged" and body["acknowledged_by"] == person.user.username
    assert {a["state"] for a in body["alerts"]} == {"acknowledged"}
    lines = [(e["action"], e["alert_id"]) for e in body["timeline"]]
    assert ("acknowledged", None) in lines  # the incident's own line
    assert ("acknowledged", errors.id) in lines and ("acknowledged", breaker.id) in lines
    again = person.post(f"/api/v1/incidents/{incident.id}/acknowledge", {})
    assert again.status_code == 409 and "acknowledged" in again.json()["detail"]


@pytest.mark.parametrize("who", ["responder", "admin"])
def test_suppressing_the_incident_silences_each_open_alert(people: People, log_channel: Channel, who: str) -> None:
    incident, errors, breaker = two_alerts(log_channel)
    r = getattr(people, who).post(f"/api/v1/incidents/{incident.id}/suppress", {"minutes": 60, "comment": "deploy"})
    assert r.status_code == 200
    assert all(a["suppressed_until"] for a in r.json()["alerts"])
    assert people.responder.post(f"/api/v1/incidents/{incident.id}/suppress", {"minutes": 0}).status_code == 422


@pytest.mark.parametrize("who", ["responder", "admin"])
def test_resolving_the_incident_resolves_its_alerts(people: People, log_channel: Channel, who: str) -> None:
    incident, errors, breaker = two_alerts(log_channel)
    r = getattr(people, who).post(f"/api/v1/incidents/{incident.id}/resolve", {"comment": "fixed"})
    assert r.status_code == 200
    body = r.json()
    assert body["state"] == "resolved" and body["resolved_at"]
    assert {a["state"] for a in body["alerts"]} == {"resolved"}
    assert people.responder.post(f"/api/v1/incidents/{incident.id}/resolve").status_code == 409


def test_alert_actions_keep_the_incident_in_line(people: People, log_channel: Channel) -> None:
    incident, errors, breaker = two_alerts(log_channel)
    people.responder.post(f"/api/v1/alerts/{errors.id}/acknowledge", {})
    assert Incident.objects.get().state == "open"  # the breaker alert still fires
    people.responder.post(f"/api/v1/alerts/{breaker.id}/acknowledge", {})
    assert Incident.objects.get().state == "acknowledged"
    people.responder.post(f"/api/v1/alerts/{breaker.id}/unacknowledge")
    assert Incident.objects.get().state == "open"
    people.responder.post(f"/api/v1/alerts/{errors.id}/resolve", {})
    people.responder.post(f"/api/v1/alerts/{breaker.id}/resolve", {})
    assert Incident.objects.get().state == "resolved"


def test_unknown_incident_is_404(people: People, no_defaults: None) -> None:
    assert people.viewer.get("/api/v1/incidents/999").status_code == 404
    assert people.responder.post("/api/v1/incidents/999/acknowledge", {}).status_code == 404
