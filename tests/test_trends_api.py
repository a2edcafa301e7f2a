"""Trends over a range against the same range a week earlier: a function's, a service's and the
fleet's, and a service's series. Calls are seeded as stored rows (minute buckets inside the
minute retention, hourly roll-ups before it); the expected figures are computed here from
the seeded calls themselves."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client, override_settings

from monitoring import histogram
from monitoring.models import CallBucket, CallCounts, CallHour, Function, Service
from monitoring.ranges import EPOCH
from tests.alert_fixtures import People

NOW = datetime(2026, 11, 20, 12, 30, 30, tzinfo=UTC)
WEEK = timedelta(days=7)
CUTOFF = NOW.replace(minute=0, second=0) - timedelta(days=14)  # minute buckets kept since
LIMIT = 0.05  # MONITOR_HEALTH_DEGRADED_ERROR_RATE's default


@dataclass(frozen=True)
class Calls:
    function: str
    at: datetime
    outcomes: dict[str, int]
    seed: int

    def durations(self) -> list[float]:
        rng = random.Random(self.seed)
        return [round(rng.lognormvariate(math.log(200), 0.8), 2) for _ in range(sum(self.outcomes.values()))]


def ok(count: int, **errors: int) -> dict[str, int]:
    return {"success": count - sum(errors.values()), **errors}


SEEDED = [
    # Within the last 24 hours.
    Calls("charge", NOW - timedelta(minutes=10), ok(100, failure=10), 1),  # a step at 10 %: not available
    Calls("charge", NOW - timedelta(hours=3), ok(50, timeout=1), 2),
    Calls("charge", NOW - timedelta(hours=3) + timedelta(minutes=1), ok(50), 3),  # same 5-minute step
    Calls("charge", NOW - timedelta(hours=20), ok(40, rejected=2), 4),  # exactly 5 %: not under it
    Calls("refund", NOW - timedelta(hours=1), ok(20), 5),
    Calls("query", NOW - timedelta(hours=2), ok(60, failure=30), 6),  # another service
    Calls("charge", NOW - timedelta(hours=25), ok(30), 7),  # before the 24 hours
    # The same 24 hours a week earlier.
    Calls("charge", NOW - WEEK - timedelta(minutes=10), ok(80), 8),
    Calls("charge", NOW - WEEK - timedelta(hours=5), ok(20, failure=1), 9),
    Calls("query", NOW - WEEK - timedelta(hours=4), ok(10), 10),
    # Around the roll-up boundary: hours before it, minutes after it.
    Calls("charge", NOW - timedelta(days=20), ok(200, failure=40), 11),
    Calls("charge", NOW - timedelta(days=14, hours=2), ok(70, timeout=3), 12),
    Calls("charge", NOW - timedelta(days=13, hours=22), ok(90), 13),
    Calls("refund", NOW - timedelta(days=27), ok(25), 14),
    Calls("charge", NOW - timedelta(days=34), ok(45, failure=5), 15),
]
SERVICES = {"charge": "payments", "refund": "payments", "query": "search"}


def floor(moment: datetime, step: timedelta) -> datetime:
    return EPOCH + ((moment - EPOCH) // step) * step


def stored_row(calls: Calls, function: Function) -> CallCounts:
    durations = calls.durations()
    if calls.at >= CUTOFF:
        row: CallCounts = CallBucket(function=function, minute=floor(calls.at, timedelta(minutes=1)))
    else:
        row = CallHour(function=function, hour=floor(calls.at, timedelta(hours=1)))
    for outcome, count in calls.outcomes.items():
        setattr(row, outcome, count)
    row.latency_sum_ms, row.latency_max_ms = sum(durations), max(durations)
    row.histogram = {}
    for duration in durations:
        key = str(histogram.bucket_of(duration))
        row.histogram[key] = row.histogram.get(key, 0) + 1
    return row


@pytest.fixture
def seeded(db: None) -> dict[str, Function]:
    services = {name: Service.objects.create(name=name) for name in set(SERVICES.values())}
    functions = {name: Function.objects.create(service=services[s], name=name) for name, s in SERVICES.items()}
    for calls in SEEDED:
        stored_row(calls, functions[calls.function]).save()
    assert CallHour.objects.exists() and CallBucket.objects.exists()
    return functions


def exact_percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def expected(names: set[str], start: datetime, end: datetime, step: timedelta) -> dict:
    """The figures of the seeded calls of these functions in [start, end), by steps of step."""
    chosen = [c for c in SEEDED if c.function in names and start <= floor(c.at, timedelta(minutes=1)) < end]
    # Hourly rows count in the step their hour starts in.
    chosen = [c for c in chosen if c.at >= CUTOFF or start <= floor(c.at, timedelta(hours=1))]
    steps: dict[datetime, list[int]] = {}
    for c in chosen:
        at = c.at if c.at >= CUTOFF else floor(c.at, timedelta(hours=1))
        counted = steps.setdefault(floor(at, step), [0, 0])
        counted[0] += sum(c.outcomes.values())
        counted[1] += sum(n for outcome, n in c.outcomes.items() if outcome != "success")
    calls = sum(n for n, _ in steps.values())
    errors = sum(e for _, e in steps.values())
    durations = [d for c in chosen for d in c.durations()]
    return {
        "calls": calls,
        "errors": errors,
        "error_rate": errors / calls if calls else None,
        "p95_ms": exact_percentile(durations, 0.95) if durations else None,
        "availability": sum(1 for n, e in steps.values() if e / n < LIMIT) / len(steps) if steps else None,
        "steps_with_calls": len(steps),
    }


def assert_figures(answer: dict, names: set[str]) -> None:
    start, end = (datetime.fromisoformat(answer[key]) for key in ("from", "to"))
    figures = expected(names, start, end, timedelta(seconds=answer["step_s"]))
    assert figures["calls"] > 0
    for key in ("calls", "errors", "steps_with_calls"):
        assert answer[key] == figures[key], key
    assert answer["error_rate"] == pytest.approx(figures["error_rate"])
    assert answer["availability"] == pytest.approx(figures["availability"])
    assert answer["p95_ms"] == pytest.approx(figures["p95_ms"], rel=0.05)


def get(people: People, path: str) -> dict:
    with time_machine.travel(NOW, tick=False):
        answer = people.viewer.get(path)
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_a_service_over_24_hours_against_a_week_ago(people: People, seeded: dict[str, Function]) -> None:
    service = seeded["charge"].service
    answer = get(people, f"/api/v1/services/{service.id}/trend?range=24h")
    assert answer["step_s"] == 300
    assert datetime.fromisoformat(answer["to"]) - datetime.fromisoformat(answer["from"]) == timedelta(hours=24)
    assert_figures(answer, {"charge", "refund"})
    assert_figures(answer["week_ago"], {"charge", "refund"})
    # By hand: 260 calls (100 + 50 + 50 + 40 + 20) against 100; 2 of 4 steps under 5 % errors.
    assert (answer["calls"], answer["week_ago"]["calls"]) == (260, 100)
    assert answer["availability"] == 0.5 and answer["week_ago"]["availability"] == 0.5
    assert answer["change"]["calls"] == pytest.approx(1.6)
    assert answer["change"]["error_rate"] == pytest.approx(13 / 260 - 1 / 100)
    assert answer["change"]["p95_ms"] == pytest.approx(answer["p95_ms"] / answer["week_ago"]["p95_ms"] - 1)
    assert answer["change"]["availability"] == 0
    week_ago_start = datetime.fromisoformat(answer["week_ago"]["from"])
    assert week_ago_start == datetime.fromisoformat(answer["from"]) - WEEK


def test_the_fleet_adds_every_service(people: People, seeded: dict[str, Function]) -> None:
    answer = get(people, "/api/v1/trend")  # 24 hours unless told
    assert answer["step_s"] == 300
    assert_figures(answer, set(SERVICES))
    assert_figures(answer["week_ago"], set(SERVICES))
    assert answer["calls"] == 320


def test_one_function_leaves_out_its_neighbours(people: People, seeded: dict[str, Function]) -> None:
    answer = get(people, f"/api/v1/functions/{seeded['refund'].id}/trend?range=24h")
    assert answer["calls"] == 20 and answer["availability"] == 1
    # Nothing a week ago: no comparison rather than a made-up one.
    assert answer["week_ago"]["calls"] == 0 and answer["week_ago"]["p95_ms"] is None
    assert answer["change"] == {"calls": None, "error_rate": None, "p95_ms": None, "availability": None}


def test_thirty_days_read_hourly_rows_and_minute_buckets_as_one(people: People, seeded: dict[str, Function]) -> None:
    answer = get(people, f"/api/v1/functions/{seeded['charge'].id}/trend?range=30d")
    assert answer["step_s"] == 3600
    assert_figures(answer, {"charge"})
    assert_figures(answer["week_ago"], {"charge"})
    # Both sides of the boundary are in, last week's calls too; 34 days ago only in the week-ago range.
    assert answer["calls"] == 100 + 100 + 40 + 30 + 80 + 20 + 90 + 70 + 200
    assert answer["week_ago"]["calls"] == 200 + 70 + 90 + 45 + 80 + 20


def test_a_custom_range_across_the_roll_up_boundary(people: People, seeded: dict[str, Function]) -> None:
    start, end = NOW - timedelta(days=15), NOW - timedelta(days=13)
    query = f"from={start.isoformat().replace('+', '%2B')}&to={end.isoformat().replace('+', '%2B')}"
    answer = get(people, f"/api/v1/services/{seeded['charge'].service_id}/trend?{query}")
    assert answer["step_s"] == 3600
    assert_figures(answer, {"charge", "refund"})
    assert answer["calls"] == 70 + 90
    assert answer["week_ago"]["calls"] == 200  # 20 days ago, an hourly row


@override_settings(MONITOR_RAW_RETENTION_DAYS=5)
def test_a_week_ago_past_the_minute_buckets_is_read_by_the_hour(people: People, seeded: dict[str, Function]) -> None:
    # Move last week's minute rows into an hourly one, as retention would with 5 days kept.
    function = seeded["charge"]
    rows = CallBucket.objects.filter(function=function, minute__lt=NOW - timedelta(days=6))
    hour = CallHour(function=function, hour=floor(NOW - WEEK - timedelta(minutes=10), timedelta(hours=1)))
    for row in rows.filter(minute__gte=hour.hour, minute__lt=hour.hour + timedelta(hours=1)):
        hour.add(row)
    hour.save()
    rows.delete()
    answer = get(people, f"/api/v1/functions/{function.id}/trend?range=1h")
    assert (answer["step_s"], answer["calls"]) == (60, 100)
    assert answer["week_ago"]["step_s"] == 3600
    assert answer["week_ago"]["calls"] == 80
    assert answer["change"]["calls"] == pytest.approx(0.25)


def test_a_service_series_sums_its_functions_per_step(people: People, seeded: dict[str, Function]) -> None:
    answer = get(people, f"/api/v1/services/{seeded['charge'].service_id}/series?range=24h")
    assert answer["step_s"] == 300 and len(answer["points"]) == 288
    by_start = {point["minute"]: point for point in answer["points"] if point["calls"]}
    assert sorted(point["calls"] for point in by_start.values()) == [20, 40, 100, 100]
    latest = answer["points"][-3]  # 12:20, the 5-minute step of 10 minutes ago
    assert datetime.fromisoformat(latest["minute"]) == floor(NOW - timedelta(minutes=10), timedelta(minutes=5))
    assert (latest["calls"], latest["failure"], latest["error_rate"]) == (100, 10, 0.1)
    charge = next(c for c in SEEDED if c.seed == 1)
    assert latest["p95_ms"] == pytest.approx(exact_percentile(charge.durations(), 0.95), rel=0.05)
    assert answer["totals"]["calls"] == 260


def test_a_service_series_defaults_to_the_last_hour(people: People, seeded: dict[str, Function]) -> None:
    answer = get(people, f"/api/v1/services/{seeded['charge'].service_id}/series")
    assert answer["step_s"] == 60 and len(answer["points"]) == 60
    assert answer["totals"]["calls"] == 100


def paths(functions: dict[str, Function]) -> list[str]:
    service = functions["charge"].service_id
    return [
        "/api/v1/trend",
        f"/api/v1/functions/{functions['charge'].id}/trend",
        f"/api/v1/services/{service}/trend",
        f"/api/v1/services/{service}/series",
    ]


def test_anonymous_callers_are_refused(client: Client, seeded: dict[str, Function]) -> None:
    for path in paths(seeded):
        assert client.get(path).status_code == 401, path


@pytest.mark.parametrize("role", ["viewer", "responder", "admin"])
def test_every_role_reads_them(people: People, seeded: dict[str, Function], role: str) -> None:
    for path in paths(seeded):
        with time_machine.travel(NOW, tick=False):
            answer = getattr(people, role).get(path)
        assert answer.status_code == 200, path
        assert answer.json()["from"]


def test_a_personal_token_reads_them(people: People, seeded: dict[str, Function]) -> None:
    headers = {"Authorization": f"Bearer {people.token_for(people.viewer)}"}
    for path in paths(seeded):
        assert Client().get(path, headers=headers).status_code == 200, path


def test_unknown_ids_and_bad_ranges_are_named(people: People, seeded: dict[str, Function]) -> None:
    for path in ("/api/v1/functions/999999/trend", "/api/v1/services/999999/trend", "/api/v1/services/999999/series"):
        assert people.viewer.get(path).status_code == 404, path
    bad = people.viewer.get("/api/v1/trend?range=2h")
    assert bad.status_code == 422
    backwards = people.viewer.get("/api/v1/trend?from=2026-11-20T10:00:00Z&to=2026-11-20T09:00:00Z")
    assert backwards.status_code == 422 and "to" in str(backwards.json())
