"""Recurring maintenance windows: a weekly window keeps its local start time across the
clock changes of its zone, holds notifications only while open, and is found cheaply."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from time_machine import TimeMachineFixture

from alerts import lifecycle, silences
from alerts.evaluate import refresh_suppression
from alerts.lifecycle import Observation
from alerts.models import Alert, Channel, Delivery, Rule, Silence
from tests.alert_fixtures import People, make_alert, make_rule

# Not about grouping or hysteresis: notices go without a group wait, clear conditions resolve at once.
pytestmark = pytest.mark.usefixtures("notify_at_once")

WINDOW = {"service": "payments", "days": ["sun"], "start_time": "02:00", "minutes": 120, "time_zone": "Europe/Berlin"}


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def fire(rule: Rule, subject: str) -> Alert:
    alert = lifecycle.fire(rule, Observation(f"function:{subject}", "payments", subject, 0.5))
    assert alert is not None
    return alert


def test_a_sunday_window_keeps_its_local_time_across_both_clock_changes(
    people: People, no_defaults: None, time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(utc(2026, 3, 20, 12), tick=False)
    r = people.responder.post("/api/v1/silences", WINDOW)
    assert r.status_code == 201, r.content
    shown = r.json()
    assert shown["state"] == "scheduled" and shown["schedule"] == "Sun at 02:00 for 2 h (Europe/Berlin)"
    # 02:00 in winter (UTC+1) is 01:00 UTC.
    assert (shown["window_starts_at"], shown["window_ends_at"]) == ("2026-03-22T01:00:00Z", "2026-03-22T03:00:00Z")
    silence = Silence.objects.get()
    windows = list(silence.windows(utc(2026, 3, 20), utc(2026, 11, 3)))
    starts = [start for start, _ in windows]
    # 29 March: clocks go 02:00 -> 03:00, so 02:00 never happens: the window opens at 03:00
    # summer time (01:00 UTC). From 5 April 02:00 is summer time (00:00 UTC). 25 October:
    # 02:00 happens twice, the window opens at the first; from 1 November winter time again.
    assert starts[:3] == [utc(2026, 3, 22, 1), utc(2026, 3, 29, 1), utc(2026, 4, 5, 0)]
    assert starts[-2:] == [utc(2026, 10, 25, 0), utc(2026, 11, 1, 1)]
    assert all(end - start == timedelta(hours=2) for start, end in windows)
    assert len(windows) == 33


@pytest.mark.parametrize(
    ("moment", "held_until"),
    [
        (utc(2026, 3, 22, 0, 59), None),  # 01:59 winter time: not yet
        (utc(2026, 3, 22, 1, 0), utc(2026, 3, 22, 3)),
        (utc(2026, 3, 22, 3, 0), None),  # 04:00 winter time: over
        (utc(2026, 4, 4, 23, 59), None),  # 01:59 summer time on the first summer Sunday
        (utc(2026, 4, 5, 0, 30), utc(2026, 4, 5, 2)),  # 02:30 summer time
        (utc(2026, 4, 5, 2, 30), None),  # 04:30 summer time: a fixed UTC window would still hold
        (utc(2026, 4, 6, 0, 30), None),  # a Monday
    ],
)
def test_it_holds_alerts_only_while_a_window_is_open(
    people: People,
    log_channel: Channel,
    time_machine: TimeMachineFixture,
    moment: datetime,
    held_until: datetime | None,
) -> None:
    time_machine.move_to(utc(2026, 3, 20, 12), tick=False)
    assert people.responder.post("/api/v1/silences", WINDOW).status_code == 201
    rule = make_rule(log_channel)
    time_machine.move_to(moment, tick=False)
    alert = fire(rule, "charge")
    assert alert.suppressed_until == held_until
    if held_until is None:
        assert Delivery.objects.filter(alert=alert, event="firing").count() == 1
    else:
        assert not Delivery.objects.exists()
        assert alert.incident.events.filter(action="notification held").exists()


def test_an_open_alert_is_held_when_the_window_opens_and_let_go_when_it_closes(
    people: People, log_channel: Channel, time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(utc(2026, 10, 24, 12), tick=False)
    assert people.responder.post("/api/v1/silences", WINDOW).status_code == 201
    alert = make_alert(make_rule(log_channel))
    time_machine.move_to(utc(2026, 10, 25, 0, 5), tick=False)  # 02:05 summer time, the first 02:05 that night
    refresh_suppression()
    alert.refresh_from_db()
    assert alert.suppressed_until == utc(2026, 10, 25, 2)
    assert people.viewer.get("/api/v1/alerts", state="suppressed").json()["count"] == 1
    time_machine.move_to(utc(2026, 10, 25, 2, 1), tick=False)  # 03:01 winter time
    refresh_suppression()
    alert.refresh_from_db()
    assert alert.suppressed_until is None
    assert list(alert.events.values_list("action", flat=True)) == ["suppressed", "suppression ended"]


def test_a_window_that_repeats_until_a_date_stops_then(
    people: People, no_defaults: None, time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(utc(2026, 6, 1, 12), tick=False)
    body = WINDOW | {"ends_at": "2026-06-15T00:00:00Z"}
    silence_id = people.responder.post("/api/v1/silences", body).json()["id"]
    time_machine.move_to(utc(2026, 6, 14, 12), tick=False)
    assert people.viewer.get(f"/api/v1/silences/{silence_id}").json()["state"] == "expired"
    r = people.responder.post("/api/v1/silences", WINDOW | {"ends_at": "2026-06-14T20:00:00Z"})
    assert r.status_code == 422 and r.json()["detail"] == "ends_at: no window opens before this"


def test_it_refuses_a_recurring_window_it_cannot_place(people: People, no_defaults: None) -> None:
    cases = [
        ({"days": [], "start_time": "02:00", "minutes": 60}, "days"),
        ({"days": ["sun"], "minutes": 60}, "start_time"),
        ({"days": ["sun"], "start_time": "25:00", "minutes": 60}, "start_time"),
        ({"days": ["someday"], "start_time": "02:00", "minutes": 60}, "days[0]"),
        ({"days": ["sun"], "start_time": "02:00"}, "minutes"),
        ({"days": ["sun"], "start_time": "02:00", "minutes": 10081}, "minutes"),
        ({"days": ["sun"], "start_time": "02:00", "minutes": 60, "time_zone": "Europe/Nowhere"}, "time_zone"),
        ({"days": ["sun"], "start_time": "02:00", "minutes": 60, "expire_on_resolve": True}, "expire_on_resolve"),
    ]
    for body, field in cases:
        r = people.responder.post("/api/v1/silences", body)
        assert (r.status_code, r.json()["field"]) == (422, field), body
    assert not Silence.objects.exists()


def test_the_active_lookup_is_one_query(db: None, django_assert_num_queries: object) -> None:
    now = timezone.now()
    for i in range(5):
        Silence.objects.create(service=f"s{i}", starts_at=now, ends_at=now + timedelta(hours=1))
        Silence.objects.create(
            service=f"r{i}",
            days=list(range(7)),
            start_time=(now - timedelta(minutes=5)).time(),
            minutes=60,
            ends_at=None,
            starts_at=now - timedelta(days=1),
        )
        Silence.objects.create(service=f"old{i}", starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1))
    with django_assert_num_queries(1):
        found = silences.active(now)
    assert len(found) == 10
