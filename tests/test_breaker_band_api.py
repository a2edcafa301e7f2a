"""GET /api/v1/functions/{id}/breakers: each instance's breaker states over a range, rebuilt
from the transitions it reported, bounded however much it flapped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client

from monitoring.breakers_read import MAX_INTERVALS
from monitoring.models import Breaker, BreakerFlip, Function, Service
from tests.browser import make_user
from tests.conftest import Reporter

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC).replace(microsecond=0)


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def report(reporter: Reporter, instance: str, state: str, at: datetime) -> None:
    """One breaker report from instance at that moment, through the ingest API."""
    with time_machine.travel(at, tick=False):
        batch = {"instance": instance, "breakers": [{"function": "charge", "state": state, "ts": iso(at)}]}
        assert reporter.post(batch).status_code == 202


@pytest.fixture
def charge(reporter: Reporter) -> Function:
    """pod-1 closed since 3 h ago, then open, half-open and closed again in the last hour, still
    reporting; pod-2 open from 50 min ago, silent since 20 min ago."""
    report(reporter, "pod-1", "closed", ago(hours=3))
    report(reporter, "pod-1", "open", ago(minutes=40))
    report(reporter, "pod-1", "half_open", ago(minutes=30))
    report(reporter, "pod-1", "closed", ago(minutes=25))
    report(reporter, "pod-1", "closed", ago(seconds=10))
    report(reporter, "pod-2", "open", ago(minutes=50))
    report(reporter, "pod-2", "open", ago(minutes=20))
    return Function.objects.get(name="charge")


@pytest.fixture
def viewer(client: Client) -> Client:
    client.force_login(make_user("viewer"))
    return client


def bands(client: Client, function: Function, query: str = "range=1h") -> dict:
    with time_machine.travel(NOW, tick=False):
        response = client.get(f"/api/v1/functions/{function.id}/breakers?{query}")
    assert response.status_code == 200, response.content
    return response.json()


def intervals(band: dict) -> list[tuple[str, str, str]]:
    return [(i["start"], i["end"], i["state"]) for i in band["intervals"]]


def test_it_rebuilds_each_instances_states_over_the_range(viewer: Client, charge: Function) -> None:
    answer = bands(viewer, charge)
    assert (answer["from"], answer["to"], answer["count"]) == (iso(ago(hours=1)), iso(NOW), 2)
    pod_1, pod_2 = answer["instances"]
    # Closed when the range began: carried in from the transition 3 hours ago.
    assert intervals(pod_1) == [
        (iso(ago(hours=1)), iso(ago(minutes=40)), "closed"),
        (iso(ago(minutes=40)), iso(ago(minutes=30)), "open"),
        (iso(ago(minutes=30)), iso(ago(minutes=25)), "half_open"),
        (iso(ago(minutes=25)), iso(NOW), "closed"),
    ]
    assert (pod_1["instance"], pod_1["stale"], pod_1["last_report"]) == ("pod-1", False, iso(ago(seconds=10)))
    # Nothing known before its first report; unknown again from its last one, not open forever.
    assert intervals(pod_2) == [
        (iso(ago(hours=1)), iso(ago(minutes=50)), "unknown"),
        (iso(ago(minutes=50)), iso(ago(minutes=20)), "open"),
        (iso(ago(minutes=20)), iso(NOW), "unknown"),
    ]
    assert (pod_2["instance"], pod_2["stale"]) == ("pod-2", True)
    assert {i["flips"] for i in pod_1["intervals"] + pod_2["intervals"]} == {0}


def test_a_range_in_the_past_ends_at_its_to(viewer: Client, charge: Function) -> None:
    query = f"from={iso(ago(minutes=45))}&to={iso(ago(minutes=28))}"
    pod_1, pod_2 = bands(viewer, charge, query)["instances"]
    assert intervals(pod_1) == [
        (iso(ago(minutes=45)), iso(ago(minutes=40)), "closed"),
        (iso(ago(minutes=40)), iso(ago(minutes=30)), "open"),
        (iso(ago(minutes=30)), iso(ago(minutes=28)), "half_open"),
    ]
    # Its silence began after this range ended.
    assert intervals(pod_2) == [(iso(ago(minutes=45)), iso(ago(minutes=28)), "open")]


def test_it_filters_and_pages_instances(viewer: Client, charge: Function) -> None:
    only = bands(viewer, charge, "range=6h&instance=pod-2")
    assert only["count"] == 1 and [b["instance"] for b in only["instances"]] == ["pod-2"]
    second = bands(viewer, charge, "range=6h&limit=1&offset=1")
    assert second["count"] == 2 and [b["instance"] for b in second["instances"]] == ["pod-2"]
    # Six hours back, pod-1 had not reported yet.
    first = bands(viewer, charge, "range=6h")["instances"][0]
    assert intervals(first)[:2] == [
        (iso(ago(hours=6)), iso(ago(hours=3)), "unknown"),
        (iso(ago(hours=3)), iso(ago(minutes=40)), "closed"),
    ]


def test_states_older_than_the_kept_transitions_come_from_the_breaker(viewer: Client, charge: Function) -> None:
    # Retention forgot pod-1's transitions before the range: the first one in it says what it left.
    BreakerFlip.objects.filter(instance="pod-1", at__lt=ago(hours=1)).delete()
    pod_1 = bands(viewer, charge)["instances"][0]
    assert intervals(pod_1)[0] == (iso(ago(hours=1)), iso(ago(minutes=40)), "closed")
    # With none kept at all: the breaker's state from when it began, unknown before.
    BreakerFlip.objects.filter(instance="pod-1").delete()
    pod_1 = bands(viewer, charge)["instances"][0]
    assert intervals(pod_1) == [
        (iso(ago(hours=1)), iso(ago(minutes=25)), "unknown"),
        (iso(ago(minutes=25)), iso(NOW), "closed"),
    ]
    later = bands(viewer, charge, f"from={iso(ago(minutes=20))}&to={iso(ago(minutes=15))}")["instances"][0]
    assert intervals(later) == [(iso(ago(minutes=20)), iso(ago(minutes=15)), "closed")]


def test_a_flapping_instance_sends_a_few_intervals_not_thousands(viewer: Client, service: Service) -> None:
    function = Function.objects.create(service=service, name="charge")
    burst = ago(days=10)
    flips = [BreakerFlip(function=function, instance="pod-1", old_state="", new_state="closed", at=ago(days=20))]
    # 3,000 transitions ten seconds apart: open, closed, open, ... ending closed.
    for i in range(3000):
        new, old = ("open", "closed") if i % 2 == 0 else ("closed", "open")
        flips.append(BreakerFlip(function=function, instance="pod-1", old_state=old, new_state=new, at=burst))
        burst += timedelta(seconds=10)
    BreakerFlip.objects.bulk_create(flips)
    Breaker.objects.create(function=function, instance="pod-1", state="closed", since=burst, updated=ago(seconds=5))
    answer = bands(viewer, function, "range=30d")
    # A 30-day band: states under 72 minutes that follow one another are one "flapping" stretch.
    assert answer["shortest_s"] == 72 * 60
    burst_start, burst_end = ago(days=10), ago(days=10) + timedelta(seconds=29_990)
    assert intervals(answer["instances"][0]) == [
        (iso(ago(days=30)), iso(ago(days=20)), "unknown"),
        (iso(ago(days=20)), iso(burst_start), "closed"),
        (iso(burst_start), iso(burst_end), "flapping"),
        (iso(burst_end), iso(NOW), "closed"),
    ]
    flapping = answer["instances"][0]["intervals"][2]
    assert (flapping["flips"], flapping["states"]) == (2999, ["open", "closed"])


def test_a_lone_short_open_stays_and_a_band_never_passes_its_cap(viewer: Client, service: Service) -> None:
    function = Function.objects.create(service=service, name="charge")
    at, flips = ago(days=29), []
    # 400 times: open for a minute, then closed for 100 minutes (longer than 72, the shortest).
    for _ in range(400):
        flips.append(BreakerFlip(function=function, instance="pod-1", old_state="closed", new_state="open", at=at))
        at += timedelta(minutes=1)
        flips.append(BreakerFlip(function=function, instance="pod-1", old_state="open", new_state="closed", at=at))
        at += timedelta(minutes=100)
    BreakerFlip.objects.bulk_create(flips)
    Breaker.objects.create(function=function, instance="pod-1", state="closed", since=at, updated=ago(seconds=5))
    # Over a day, each brief open is its own stretch.
    day = bands(viewer, function, f"from={iso(ago(days=29))}&to={iso(ago(days=28))}")["instances"][0]
    assert [i["state"] for i in day["intervals"][:4]] == ["open", "closed", "open", "closed"]
    # Over 30 days that would be 800 stretches: folded until a band holds at most MAX_INTERVALS.
    month = bands(viewer, function, "range=30d")["instances"][0]["intervals"]
    assert len(month) <= MAX_INTERVALS
    # Everything under 144 minutes folds: the opens with the closed hours between them; the
    # last transition begins the day-long closed stretch that lasts until now. (Closed first:
    # what the first transition left.)
    assert [i["state"] for i in month] == ["closed", "flapping", "closed"]
    assert (month[1]["flips"], month[1]["states"]) == (799, ["open", "closed"])
    assert month[0]["start"] == iso(ago(days=30)) and month[-1]["end"] == iso(NOW)
    assert all(a["end"] == b["start"] for a, b in zip(month, month[1:], strict=False))


def test_it_refuses_ranges_it_cannot_read(viewer: Client, charge: Function) -> None:
    url = f"/api/v1/functions/{charge.id}/breakers"
    cases = {
        "range=2h": "range",
        "to=2026-01-01T00:00:00Z": "from",
        "from=2026-01-01T00:00:00": "from",
        "from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z": "to",
        f"from={iso(NOW + timedelta(hours=1))}": "from",
        "limit=0": "limit",
    }
    for query, field in cases.items():
        response = viewer.get(f"{url}?{query}")
        assert (response.status_code, response.json()["field"]) == (422, field), query
    assert viewer.get("/api/v1/functions/999999/breakers").status_code == 404


def test_anyone_logged_in_reads_it_and_no_one_else(client: Client, charge: Function, admin_user: User) -> None:
    url = f"/api/v1/functions/{charge.id}/breakers?range=1h"
    assert client.get(url).status_code == 401
    for role in ("viewer", "responder"):
        client.force_login(make_user(role))
        assert client.get(url).json()["count"] == 2
    client.force_login(admin_user)
    assert client.get(url).json()["count"] == 2
    assert "/api/v1/functions/{function_id}/breakers" in client.get("/api/openapi.json").json()["paths"]
