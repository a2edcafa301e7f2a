"""Who may do what with /api/v1/silences: anonymous 401; viewers read; responders and admins
also create, preview and end. Writes leave the same audit entries as the pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from alerts.models import Channel, Silence
from monitoring.models import AuditEntry
from tests.alert_fixtures import People, make_alert, make_rule

BODY = {"service": "payments", "severity": "critical", "minutes": 60, "comment": "deploy"}


@pytest.fixture
def silence(db: None) -> Silence:
    return Silence.objects.create(service="payments", ends_at=timezone.now() + timedelta(hours=1))


def test_anonymous_callers_get_401_everywhere(silence: Silence) -> None:
    client = Client()
    assert client.get("/api/v1/silences").status_code == 401
    assert client.get(f"/api/v1/silences/{silence.id}").status_code == 401
    assert client.post("/api/v1/silences", BODY, content_type="application/json").status_code == 401
    assert client.post("/api/v1/silences/preview", BODY, content_type="application/json").status_code == 401
    assert client.delete(f"/api/v1/silences/{silence.id}").status_code == 401
    assert Silence.objects.count() == 1 and Silence.objects.get().ends_at > timezone.now()


def test_a_viewer_reads_but_cannot_change(people: People, silence: Silence) -> None:
    listed = people.viewer.get("/api/v1/silences").json()
    assert [s["id"] for s in listed["items"]] == [silence.id]
    assert people.viewer.get(f"/api/v1/silences/{silence.id}").json()["state"] == "active"
    for response in (
        people.viewer.post("/api/v1/silences", BODY),
        people.viewer.post("/api/v1/silences/preview", BODY),
        people.viewer.delete(f"/api/v1/silences/{silence.id}"),
    ):
        assert response.status_code == 403 and "responder" in response.json()["detail"]
    assert Silence.objects.count() == 1 and Silence.objects.get().ends_at > timezone.now()
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("who", ["responder", "admin"])
def test_responders_and_admins_create_and_end(people: People, who: str) -> None:
    person = getattr(people, who)
    r = person.post("/api/v1/silences", BODY)
    assert r.status_code == 201, r.content
    created = r.json()
    assert (created["severity"], created["state"], created["created_by"]) == (
        "critical",
        "active",
        person.user.username,
    )
    assert person.get(f"/api/v1/silences/{created['id']}").json()["comment"] == "deploy"
    assert person.delete(f"/api/v1/silences/{created['id']}").status_code == 204
    assert person.get(f"/api/v1/silences/{created['id']}").json()["state"] == "expired"
    actions = list(AuditEntry.objects.filter(kind="silence").values_list("actor_name", "action").order_by("id"))
    assert actions == [(person.user.username, "created"), (person.user.username, "ended")]


@pytest.mark.parametrize("who", ["responder", "admin"])
def test_responders_and_admins_preview(people: People, log_channel: Channel, who: str) -> None:
    rule = make_rule(log_channel, severity="critical")
    alert = make_alert(rule)
    make_alert(make_rule(log_channel, name="other", severity="low"), fingerprint="function:2")
    r = getattr(people, who).post("/api/v1/silences/preview", BODY)
    assert r.status_code == 200, r.content
    preview = r.json()
    assert preview["count"] == 1 and preview["state"] == "active"
    assert [(a["id"], a["rule"]["name"]) for a in preview["alerts"]] == [(alert.id, "payments errors")]
    assert not Silence.objects.exists() and not AuditEntry.objects.exists()


def test_the_preview_checks_the_body_like_create(people: People, no_defaults: None) -> None:
    r = people.responder.post("/api/v1/silences/preview", {"days": ["sun"], "start_time": "02:00"})
    assert r.status_code == 422 and r.json()["field"] == "minutes"
    r = people.responder.post("/api/v1/silences/preview", {"minutes": 5, "time_zone": "Mars/Olympus"})
    assert r.status_code == 422 and r.json()["field"] == "time_zone"


def test_a_personal_token_of_a_responder_may_create(people: People, no_defaults: None) -> None:
    token = people.token_for(people.responder)
    client = Client(headers={"Authorization": f"Bearer {token}"})
    r = client.post("/api/v1/silences", BODY, content_type="application/json")
    assert r.status_code == 201, r.content
    assert AuditEntry.objects.get().actor_name == "bob"


def test_dropping_a_window_before_it_starts_is_a_deletion(people: People, no_defaults: None) -> None:
    starts = timezone.now() + timedelta(hours=1)
    body = {"starts_at": starts.isoformat(), "minutes": 30}
    silence_id = people.responder.post("/api/v1/silences", body).json()["id"]
    assert people.responder.delete(f"/api/v1/silences/{silence_id}").status_code == 204
    assert not Silence.objects.exists()
    assert AuditEntry.objects.filter(kind="silence").latest("id").action == "deleted"
    assert people.responder.delete(f"/api/v1/silences/{silence_id}").status_code == 404


def test_it_lists_by_state(people: People, no_defaults: None) -> None:
    now = timezone.now()
    active = Silence.objects.create(ends_at=now + timedelta(hours=1))
    later = Silence.objects.create(starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=2))
    over = Silence.objects.create(starts_at=now - timedelta(hours=2), ends_at=now - timedelta(hours=1))
    for state, silence in (("active", active), ("scheduled", later), ("expired", over)):
        items = people.viewer.get("/api/v1/silences", state=state).json()["items"]
        assert [(s["id"], s["state"]) for s in items] == [(silence.id, state)]
    not_active = people.viewer.get("/api/v1/silences", active="false").json()["items"]
    assert sorted(s["id"] for s in not_active) == sorted([later.id, over.id])
