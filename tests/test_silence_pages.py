"""The silences pages for each role: list by state, the form (with its preview), ending early."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from alerts.models import Channel, Silence
from monitoring.models import AuditEntry
from tests.alert_fixtures import People, make_alert, make_rule

FORM = {
    "service": "payments",
    "subject": "*",
    "severity": "*",
    "rule": "",
    "kind": "once",
    "time_zone": "Europe/Berlin",
    "start": "now",
    "end": "for",
    "minutes": "120",
    "comment": "db upgrade",
}


def test_it_sends_anonymous_visitors_to_the_login(db: None) -> None:
    for path in ("/silences/", "/silences/new/", "/silences/1/"):
        r = Client().get(path)
        assert r.status_code == 302 and r["Location"].startswith("/login/")


def test_it_refuses_viewers_and_hides_the_link(people: People) -> None:
    silence = Silence.objects.create(ends_at=timezone.now() + timedelta(hours=1))
    for path in ("/silences/", "/silences/new/", f"/silences/{silence.id}/"):
        assert people.viewer.client.get(path).status_code == 403
    r = people.viewer.client.post("/silences/new/", FORM)
    assert r.status_code == 403 and not Silence.objects.exclude(id=silence.id).exists()
    assert people.viewer.client.post(f"/silences/{silence.id}/end/").status_code == 403
    assert Silence.objects.get(id=silence.id).ends_at > timezone.now()
    assert 'href="/silences/"' not in people.viewer.client.get("/alerts/").content.decode()


@pytest.mark.parametrize("who", ["responder", "admin"])
def test_it_lists_active_silences_with_their_matchers(people: People, who: str) -> None:
    rule = make_rule(name="payments errors")
    Silence.objects.create(
        service="payments",
        subject="charge*",
        severity="critical",
        rule=rule,
        comment="db upgrade",
        ends_at=timezone.now() + timedelta(hours=2),
        created_by=people.admin.user,
        time_zone="Europe/Berlin",
    )
    page = getattr(people, who).client.get("/silences/").content.decode()
    assert 'href="/silences/" aria-current="page"' in page
    for text in (
        "payments",
        "charge*",
        "critical",
        "payments errors",
        "db upgrade",
        "alice",
        "Europe/Berlin",
        "End now",
    ):
        assert text in page


def test_it_shows_an_empty_state_per_tab(people: People) -> None:
    for state, words in (
        ("active", "No silence is active"),
        ("scheduled", "Nothing is scheduled"),
        ("expired", "No silence has ended yet"),
    ):
        page = people.responder.client.get("/silences/", {"state": state}).content.decode()
        assert words in page


def test_it_puts_each_silence_in_its_tab(people: People) -> None:
    now = timezone.now()
    Silence.objects.create(service="active-one", ends_at=now + timedelta(hours=1))
    Silence.objects.create(service="later-one", starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=2))
    Silence.objects.create(service="over-one", starts_at=now - timedelta(hours=2), ends_at=now - timedelta(hours=1))
    for state, name in (("active", "active-one"), ("scheduled", "later-one"), ("expired", "over-one")):
        page = people.responder.client.get("/silences/", {"state": state}).content.decode()
        assert name in page
        assert sum(other in page for other in ("active-one", "later-one", "over-one")) == 1


def test_it_pages_a_long_list(people: People) -> None:
    now = timezone.now()
    Silence.objects.bulk_create(Silence(service=f"svc-{i:03}", ends_at=now + timedelta(hours=1)) for i in range(55))
    first = people.responder.client.get("/silences/").content.decode()
    assert "55 in all" in first and first.count("data-silence=") == 50 and 'rel="next"' in first
    second = people.responder.client.get("/silences/", {"state": "active", "offset": "50"}).content.decode()
    assert second.count("data-silence=") == 5 and 'rel="prev"' in second


def test_a_responder_creates_a_silence_from_the_form(people: People) -> None:
    r = people.responder.client.post("/silences/new/", FORM)
    assert r.status_code == 302 and r["Location"] == "/silences/?state=active"
    silence = Silence.objects.get()
    assert (silence.service, silence.created_by, silence.time_zone) == (
        "payments",
        people.responder.user,
        "Europe/Berlin",
    )
    assert timedelta(minutes=119) < silence.ends_at - silence.starts_at <= timedelta(minutes=120)
    entry = AuditEntry.objects.get(kind="silence")
    assert (entry.actor_name, entry.action, entry.after["service"]) == ("bob", "created", "payments")
    page = people.responder.client.get(r["Location"]).content.decode()
    assert f"Silence #{silence.id} created (active)." in page


def test_a_later_window_is_read_in_the_chosen_zone(people: People) -> None:
    later = (timezone.now() + timedelta(days=3)).strftime("%Y-%m-%d")
    form = FORM | {"start": "later", "starts_at": f"{later}T02:00", "end": "until", "ends_at": f"{later}T04:00"}
    r = people.admin.client.post("/silences/new/", form)
    assert r.status_code == 302 and r["Location"] == "/silences/?state=scheduled"
    silence = Silence.objects.get()
    local = silence.starts_at.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.strftime("%Y-%m-%d %H:%M"), silence.ends_at - silence.starts_at) == (
        f"{later} 02:00",
        timedelta(hours=2),
    )


def test_a_weekly_window_from_the_form(people: People) -> None:
    form = FORM | {"kind": "recurring", "days": ["sat", "sun"], "start_time": "02:00", "repeat_minutes": "120"}
    r = people.responder.client.post("/silences/new/", form)
    assert r.status_code == 302
    silence = Silence.objects.get()
    assert (silence.days, f"{silence.start_time:%H:%M}", silence.minutes, silence.ends_at) == (
        [5, 6],
        "02:00",
        120,
        None,
    )
    page = people.responder.client.get(f"/silences/{silence.id}/").content.decode()
    assert "Sat, Sun at 02:00 for 2 h (Europe/Berlin)" in page and page.count("<tr><td><time") == 5


def test_it_names_the_bad_field_and_keeps_what_was_typed(people: People) -> None:
    form = FORM | {
        "kind": "recurring",
        "days": ["sun"],
        "start_time": "02:00",
        "repeat_minutes": "",
        "comment": "keep me",
    }
    r = people.responder.client.post("/silences/new/", form)
    assert r.status_code == 422
    page = r.content.decode()
    assert 'id="repeat_minutes-error"' in page and "give each window&#x27;s length in minutes" in page
    assert 'aria-invalid="true" aria-describedby="repeat_minutes-error"' in page
    assert 'value="keep me"' in page and 'value="sun" checked' in page
    r = people.responder.client.post("/silences/new/", FORM | {"severity": "urgent"})
    assert r.status_code == 422 and 'id="severity-error"' in r.content.decode()
    r = people.responder.client.post("/silences/new/", FORM | {"start": "later", "starts_at": "soon"})
    assert r.status_code == 422 and 'id="starts_at-error"' in r.content.decode()
    assert not Silence.objects.exists() and not AuditEntry.objects.exists()


def test_the_preview_lists_the_open_alerts_it_would_hold(people: People, log_channel: Channel) -> None:
    rule = make_rule(log_channel)
    make_alert(rule, fingerprint="function:1", subject="charge")
    make_alert(rule, fingerprint="function:2", subject="refund")
    make_alert(rule, fingerprint="function:3", subject="capture", state="resolved")
    r = people.responder.client.post("/silences/preview/", FORM | {"subject": "ch*"}, HTTP_HX_REQUEST="true")
    page = r.content.decode()
    assert r.status_code == 200 and "Matches 1 open alert right now" in page
    assert "payments / charge" in page and "refund" not in page
    r = people.responder.client.post("/silences/preview/", FORM | {"severity": "low"})
    assert "Matches no open alert right now." in r.content.decode()
    r = people.responder.client.post("/silences/preview/", FORM | {"kind": "recurring"})
    assert "Cannot preview yet" in r.content.decode() and "days" in r.content.decode()
    assert not Silence.objects.exists()
    assert people.viewer.client.post("/silences/preview/", FORM).status_code == 403


def test_a_responder_ends_a_silence_early(people: People) -> None:
    silence = Silence.objects.create(
        service="payments", ends_at=timezone.now() + timedelta(hours=1), created_by=people.admin.user
    )
    r = people.responder.client.post(f"/silences/{silence.id}/end/")
    assert r.status_code == 302 and r["Location"] == "/silences/?state=expired"
    assert Silence.objects.get().ends_at <= timezone.now()
    entry = AuditEntry.objects.get(kind="silence", action="ended")
    assert entry.actor_name == "bob" and entry.before["ends_at"] > entry.after["ends_at"]
    page = people.responder.client.get(f"/silences/{silence.id}/").content.decode()
    assert "bob</strong> ended it" in page and "End now" not in page


def test_cancelling_a_window_that_has_not_started_drops_it(people: People) -> None:
    now = timezone.now()
    silence = Silence.objects.create(starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=2))
    page = people.admin.client.get("/silences/", {"state": "scheduled"}).content.decode()
    assert "Cancel silence #" in page and ">Cancel</button>" in page
    assert people.admin.client.post(f"/silences/{silence.id}/end/").status_code == 302
    assert not Silence.objects.exists()
    assert AuditEntry.objects.get(kind="silence").action == "deleted"


def test_the_end_form_asks_first(people: People) -> None:
    Silence.objects.create(service="payments", ends_at=timezone.now() + timedelta(hours=1))
    page = people.responder.client.get("/silences/").content.decode()
    assert 'data-confirm="End silence #' in page
