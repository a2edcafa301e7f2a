"""The database judges health exactly as health() does: crafted functions at every boundary
(an error rate exactly at each threshold, no calls, breakers stale or open on all or some
instances, a stale function, a rule holding), filtered, sorted and counted both ways."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from pytest_django import Settings

from monitoring.health import judged_rows
from monitoring.models import Breaker, CallBucket, Function, Service
from monitoring.read import ORDER_BY, FunctionFilters, find_functions, functions_out, in_trouble, sort_rows
from tests.browser import OWNER

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 24, 10, 30, 17, tzinfo=UTC)
MINUTE = NOW.replace(second=0)
STALE_AFTER = timedelta(seconds=300)


@dataclass
class Case:
    """One function: its buckets (minutes ago, success, failure, timeout, rejected, shard),
    its breakers (instance, state, seconds since its last report), last seen, alerting."""

    buckets: list[tuple[int, int, int, int, int, int]] = field(default_factory=list)
    breakers: list[tuple[str, str, float]] = field(default_factory=list)
    last_seen_s: float | None = 10
    alerting: bool = False


def rate(errors: int, calls: int) -> Case:
    """errors of calls in the window, the errors spread over failures, timeouts and
    rejections, over two minutes and two shards (one of them at the window's first minute)."""
    failure, timeout = errors // 2, errors // 4
    return Case(
        buckets=[
            (0, calls - errors - 1, failure, 0, 0, 0),
            (4, 1, 0, timeout, errors - failure - timeout, 1),
        ]
    )


CASES: dict[str, Case] = {
    "no calls, no breaker": Case(),
    "never seen": Case(last_seen_s=None),
    "calls only before the window": Case(buckets=[(5, 0, 40, 0, 0, 0)]),
    **{f"{e} of {c}": rate(e, c) for e, c in [(0, 20), (1, 20), (1, 21), (2, 20), (3, 30), (6, 100), (7, 100)]},
    **{f"{e} of {c}": rate(e, c) for e, c in [(29, 100), (3, 10), (9, 19), (10, 20), (11, 20), (20, 20)]},
    "closed everywhere, no calls": Case(breakers=[("a", "closed", 5), ("b", "closed", 5)]),
    "open on all": Case(breakers=[("a", "open", 5), ("b", "open", 299)]),
    "open on some": Case(breakers=[("a", "open", 5), ("b", "closed", 5)]),
    "half-open on some": Case(breakers=[("a", "half_open", 5), ("b", "closed", 5)]),
    "open and half-open": Case(breakers=[("a", "open", 5), ("b", "half_open", 5)]),
    "open, but silent": Case(breakers=[("a", "open", 301), ("b", "closed", 5)]),
    "open at the stale edge": Case(breakers=[("a", "open", 300)]),
    "only silent breakers": Case(breakers=[("a", "open", 900)]),
    "open on all reporting, one silent closed": Case(breakers=[("a", "open", 5), ("b", "closed", 600)]),
    "open on all, calls fine": Case(buckets=[(1, 50, 0, 0, 0, 0)], breakers=[("a", "open", 5)]),
    "stale with failures": Case(buckets=[(4, 0, 30, 0, 0, 0)], last_seen_s=301),
    "seen at the stale edge": Case(buckets=[(0, 10, 10, 0, 0, 0)], last_seen_s=300),
    "stale and alerting": Case(last_seen_s=3600, alerting=True),
    "alerting, no calls": Case(alerting=True),
    "alerting, calls fine": Case(buckets=[(0, 100, 0, 0, 0, 0)], alerting=True),
    "alerting and failing": Case(buckets=[(0, 1, 9, 0, 0, 0)], alerting=True),
    "alerting, closed": Case(breakers=[("a", "closed", 5)], alerting=True),
}

THRESHOLDS = [(0.05, 0.5), (0.1, 0.3), (0.07, 0.29), (0.0, 0.5), (0.0, 0.0), (1.0, 1.0)]


@pytest.fixture
def fleet(settings: Settings) -> dict[str, int]:
    settings.MONITOR_STALE_AFTER_S = STALE_AFTER.total_seconds()
    settings.MONITOR_HEALTH_DEGRADED_P95_MS = 0
    ids = {}
    for number, (name, case) in enumerate(CASES.items()):
        # Two services, names not in the cases' order: ties must break the same way.
        service, _ = Service.objects.get_or_create(name=f"svc{number % 2}")
        last_seen = NOW - timedelta(seconds=case.last_seen_s) if case.last_seen_s is not None else None
        function = Function.objects.create(
            service=service, name=f"f{(number * 7) % 50:02d} {name}", last_seen=last_seen, alerting=case.alerting
        )
        ids[name] = function.id
        for ago, success, failure, timeout, rejected, shard in case.buckets:
            CallBucket.objects.create(
                function=function,
                minute=MINUTE - timedelta(minutes=ago),
                shard=shard,
                success=success,
                failure=failure,
                timeout=timeout,
                rejected=rejected,
            )
        for instance, state, ago_s in case.breakers:
            at = NOW - timedelta(seconds=ago_s)
            Breaker.objects.create(function=function, instance=instance, state=state, since=at, updated=at)
    return ids


def in_python() -> list[dict]:
    return functions_out(list(Function.objects.select_related("service")))


def ids(rows: list[dict]) -> list[int]:
    return [row["id"] for row in rows]


def everything(filters: FunctionFilters) -> list[dict]:
    return find_functions(filters, OWNER)[0:10_000]


@pytest.mark.parametrize(("degraded", "unhealthy"), THRESHOLDS)
def test_the_database_and_python_judge_alike(
    fleet: dict[str, int], settings: Settings, degraded: float, unhealthy: float
) -> None:
    settings.MONITOR_HEALTH_DEGRADED_ERROR_RATE = degraded
    settings.MONITOR_HEALTH_UNHEALTHY_ERROR_RATE = unhealthy
    with time_machine.travel(NOW, tick=False):
        python = {row["id"]: row["health"] for row in in_python()}
        sql = dict(judged_rows(Function.objects.all(), "id, health"))
        by_name = {name: (python[fid], sql[fid]) for name, fid in fleet.items()}
        assert {name: s for name, (_, s) in by_name.items()} == {name: p for name, (p, _) in by_name.items()}
        for health in ("healthy", "degraded", "unhealthy", "unknown", "stale"):
            listed = find_functions(FunctionFilters(health=health), OWNER)
            assert sorted(ids(listed[0:1000])) == sorted(fid for fid, h in python.items() if h == health)
            assert len(listed) == sum(h == health for h in python.values())


def test_the_boundaries_fall_where_the_docs_say(fleet: dict[str, int]) -> None:
    """At the defaults (0.05 degraded, 0.5 unhealthy): "at or over" a threshold counts."""
    with time_machine.travel(NOW, tick=False):
        health = dict(judged_rows(Function.objects.all(), "id, health"))
    expected = {
        "no calls, no breaker": "unknown",
        "never seen": "unknown",
        "calls only before the window": "unknown",
        "0 of 20": "healthy",
        "1 of 21": "healthy",
        "1 of 20": "degraded",
        "9 of 19": "degraded",
        "10 of 20": "unhealthy",
        "closed everywhere, no calls": "healthy",
        "open on all": "unhealthy",
        "open on some": "degraded",
        "half-open on some": "degraded",
        "open, but silent": "healthy",
        "open at the stale edge": "unhealthy",
        "only silent breakers": "unknown",
        "open on all reporting, one silent closed": "unhealthy",
        "stale with failures": "stale",
        "seen at the stale edge": "unhealthy",
        "stale and alerting": "stale",
        "alerting, no calls": "degraded",
        "alerting, calls fine": "degraded",
        "alerting and failing": "unhealthy",
    }
    assert {name: health[fleet[name]] for name in expected} == expected


@pytest.mark.parametrize("sort", [*ORDER_BY, *(f"-{key}" for key in ORDER_BY)])
def test_the_database_sorts_as_python_does(fleet: dict[str, int], settings: Settings, sort: str) -> None:
    settings.MONITOR_HEALTH_DEGRADED_ERROR_RATE = 0.1
    with time_machine.travel(NOW, tick=False):
        assert ids(everything(FunctionFilters(sort=sort))) == ids(sort_rows(in_python(), sort))


@pytest.mark.parametrize("state", ["open", "half_open", "closed"])
def test_the_database_filters_breakers_as_python_does(fleet: dict[str, int], state: str) -> None:
    with time_machine.travel(NOW, tick=False):
        python = [row for row in in_python() if row["breaker"]["state"] == state]
        assert sorted(ids(everything(FunctionFilters(breaker=state, sort="-trouble")))) == sorted(ids(python))


def test_the_overview_picks_the_same_ten(fleet: dict[str, int]) -> None:
    with time_machine.travel(NOW, tick=False):
        python = [row for row in sort_rows(in_python(), "trouble") if row["health"] in ("unhealthy", "degraded")]
        assert ids(in_trouble()) == ids(python[:10])
        assert [row["health"] for row in in_trouble()][:1] == ["unhealthy"]
