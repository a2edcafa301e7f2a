"""Series over ranges of days: minute buckets and hourly roll-ups read as one series.

Calls are stored the way they always are (ingest at the time they happened, with a
test clock, then the hourly retention job rolls the old ones up); the expected totals
and percentiles are computed here from the raw durations.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client

from monitoring import retention
from monitoring.models import CallBucket, CallHour, Function, UserToken
from tests.conftest import Reporter, call

NOW = datetime.now(UTC).replace(second=30, microsecond=0)
OLD = NOW - timedelta(days=14, hours=3)  # rolled up into hours by retention
NEAR_BOUNDARY = NOW - timedelta(days=13, hours=20)  # still minute buckets
DAYS_AGO = NOW - timedelta(days=2)
RECENT = NOW - timedelta(minutes=20)


@pytest.fixture
def auth(admin_user: User) -> dict:
    _, key = UserToken.issue(user=admin_user)
    return {"Authorization": f"Bearer {key}"}


def durations(seed: int, count: int) -> list[float]:
    rng = random.Random(seed)
    return [round(rng.lognormvariate(math.log(200), 0.8), 2) for _ in range(count)]


def exact_percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def report_at(reporter: Reporter, moment: datetime, values: list[float]) -> None:
    with time_machine.travel(moment, tick=False):
        answer = reporter.post({"calls": [call("charge", duration_ms=value) for value in values]})
        assert answer.status_code == 202


@pytest.fixture
def history(reporter: Reporter) -> dict[str, list[float]]:
    seeded = {
        "old": durations(1, 300),
        "near": durations(2, 200),
        "days": durations(3, 250),
        "recent": durations(4, 150),
    }
    for moment, name in ((OLD, "old"), (NEAR_BOUNDARY, "near"), (DAYS_AGO, "days"), (RECENT, "recent")):
        report_at(reporter, moment, seeded[name])
    with time_machine.travel(NOW, tick=False):
        retention.roll_up_calls()
    # The oldest calls now live only in the hourly table, the rest in minute buckets.
    assert CallHour.objects.count() == 1
    assert not CallBucket.objects.filter(minute__lt=NOW - timedelta(days=14)).exists()
    return seeded


def series(client: Client, auth: dict, query: str) -> dict:
    function_id = Function.objects.get(name="charge").id
    with time_machine.travel(NOW, tick=False):
        answer = client.get(f"/api/v1/functions/{function_id}/series?{query}", headers=auth)
    assert answer.status_code == 200, answer.content
    return answer.json()


def assert_totals(answer: dict, values: list[float]) -> None:
    totals = answer["totals"]
    assert totals["calls"] == len(values)
    assert sum(point["calls"] for point in answer["points"]) == len(values)
    for q, name in ((0.5, "p50_ms"), (0.95, "p95_ms"), (0.99, "p99_ms")):
        assert totals[name] == pytest.approx(exact_percentile(values, q), rel=0.05)


def test_thirty_days_reads_rolled_up_hours_and_minutes_as_one_series(
    client: Client, auth: dict, history: dict[str, list[float]]
) -> None:
    answer = series(client, auth, "range=30d")
    assert answer["step_s"] == 3600
    assert len(answer["points"]) <= 750
    assert_totals(answer, [v for values in history.values() for v in values])
    assert len(answer["points"]) == 720
    first, last = (datetime.fromisoformat(answer["points"][i]["minute"]) for i in (0, -1))
    assert first <= NOW - timedelta(days=30) + timedelta(hours=1)
    assert last <= NOW < last + timedelta(hours=1)


def test_seven_days_leaves_out_what_is_older(client: Client, auth: dict, history: dict[str, list[float]]) -> None:
    answer = series(client, auth, "range=7d")
    assert answer["step_s"] == 3600
    assert_totals(answer, history["days"] + history["recent"])


def test_a_custom_range_across_the_roll_up_boundary(
    client: Client, auth: dict, history: dict[str, list[float]]
) -> None:
    start = (OLD - timedelta(hours=2)).isoformat()
    end = (NEAR_BOUNDARY + timedelta(hours=2)).isoformat()
    answer = series(client, auth, f"from={start.replace('+', '%2B')}&to={end.replace('+', '%2B')}")
    # Minute buckets are gone before the boundary: the range is read by the hour.
    assert answer["step_s"] == 3600
    assert_totals(answer, history["old"] + history["near"])


def test_an_hour_is_read_by_the_minute_ending_with_this_one(
    client: Client, auth: dict, history: dict[str, list[float]]
) -> None:
    answer = series(client, auth, "range=1h")
    assert (answer["step_s"], len(answer["points"])) == (60, 60)
    assert answer["points"][-1]["minute"] == NOW.replace(second=0).isoformat().replace("+00:00", "Z")
    assert_totals(answer, history["recent"])


def test_a_day_is_read_by_five_minutes(client: Client, auth: dict, history: dict[str, list[float]]) -> None:
    answer = series(client, auth, "range=24h")
    assert answer["step_s"] == 300
    assert len(answer["points"]) == 288  # a day of them, the one holding now last
    assert_totals(answer, history["recent"])


def test_more_than_a_month_is_read_by_the_day(client: Client, auth: dict, history: dict[str, list[float]]) -> None:
    start = (NOW - timedelta(days=60)).isoformat().replace("+", "%2B")
    answer = series(client, auth, f"from={start}")
    assert answer["step_s"] == 86400
    assert all(datetime.fromisoformat(p["minute"]).hour == 0 for p in answer["points"])
    assert_totals(answer, [v for values in history.values() for v in values])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("range=2h", "range"),
        ("from=2026-11-01T10:00:00", "from"),
        ("from=2026-11-02T10:00:00Z&to=2026-11-01T10:00:00Z", "to"),
        ("to=2026-11-01T10:00:00Z", "from"),
        ("from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from"),
    ],
)
def test_a_bad_range_is_refused_naming_the_parameter(
    client: Client, auth: dict, reporter: Reporter, query: str, field: str
) -> None:
    reporter.post({"calls": [call("charge")]})
    function_id = Function.objects.get(name="charge").id
    answer = client.get(f"/api/v1/functions/{function_id}/series?{query}", headers=auth)
    assert answer.status_code == 422
    assert field in str(answer.json())
