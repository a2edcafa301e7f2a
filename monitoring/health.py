"""A function's health from its last minutes of calls, its breakers and its rules.

- stale: the function has not reported for MONITOR_STALE_AFTER_S (its last figures are old
  news, not its state)
- unhealthy: error rate at or over MONITOR_HEALTH_UNHEALTHY_ERROR_RATE, or the breaker
  open on every instance that reports it
- degraded: error rate at or over MONITOR_HEALTH_DEGRADED_ERROR_RATE, the breaker open
  or half-open on some instance, p95 over MONITOR_HEALTH_DEGRADED_P95_MS (when set), or
  a rule holding against it (`Function.alerting`: an open alert or a pending breach)
- unknown: no calls in the window and no breaker reported
- healthy: otherwise
Errors are failures, timeouts and rejections.

`health()` judges one function from its figures; `judged_sql()` says the same in SQL for a
whole queryset (to filter, sort and count ten thousand functions without reading them),
from counts alone: it cannot judge p95, so callers use it only while no p95 limit is set.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from .models import Breaker, BreakerState, CallBucket, Function

WINDOW_MINUTES = 5


@dataclass
class BreakerSummary:
    """The fleet view of one function's breaker across its instances."""

    state: str | None = None
    open: int = 0
    half_open: int = 0
    closed: int = 0
    since: datetime | None = None
    # Instances that stopped reporting: their last state is not counted, it is unknown.
    stale: int = 0
    stale_since: datetime | None = None

    @property
    def instances(self) -> int:
        return self.open + self.half_open + self.closed

    def add(self, breaker: Breaker, stale_before: datetime) -> None:
        if breaker.updated < stale_before:
            self.stale += 1
            self.stale_since = max(self.stale_since or breaker.updated, breaker.updated)
            return
        setattr(self, breaker.state, getattr(self, breaker.state) + 1)
        worst = next(s for s in (BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED) if getattr(self, s))
        if worst != self.state:
            self.state, self.since = worst, None
        if breaker.state != worst:
            return
        # Trouble counts from its first instance; all clear only from the last one to recover.
        later = worst == BreakerState.CLOSED
        if self.since is None or (breaker.since > self.since if later else breaker.since < self.since):
            self.since = breaker.since

    def text(self) -> str:
        silent = f"{self.stale} silent since {self.stale_since:%H:%M UTC}" if self.stale_since else ""
        if self.state is None:
            return f"unknown: {silent}" if silent else "no breaker reported"
        label = self.state.replace("_", "-")
        count = getattr(self, self.state)
        since = self.since.strftime("%H:%M UTC") if self.since else "?"
        text = f"{label} on {count} of {self.instances} instances since {since}"
        return f"{text}; {silent}" if silent else text

    def as_dict(self) -> dict:
        return {
            "state": self.state,
            "open": self.open,
            "half_open": self.half_open,
            "closed": self.closed,
            "instances": self.instances,
            "since": self.since,
            "stale": self.stale,
            "text": self.text(),
        }


@dataclass
class Figures:
    """A function's calls folded over a window."""

    counts: CallBucket = field(default_factory=CallBucket)

    @property
    def calls(self) -> int:
        return self.counts.calls

    @property
    def error_rate(self) -> float | None:
        return self.counts.errors / self.counts.calls if self.counts.calls else None

    def p(self, q: float) -> float | None:
        return self.counts.percentile(q)


def window_start(minutes: int, now: datetime | None = None) -> datetime:
    now = now or timezone.now()
    return now.replace(second=0, microsecond=0) - timedelta(minutes=minutes - 1)


def recent_figures(function_ids: list[int], minutes: int = WINDOW_MINUTES) -> dict[int, Figures]:
    figures: dict[int, Figures] = defaultdict(Figures)
    buckets = CallBucket.objects.filter(function_id__in=function_ids, minute__gte=window_start(minutes))
    # Plain rows, not model instances: a page of 50 busy functions folds thousands of them.
    for bucket in buckets.values_list("function_id", *CallBucket.FOLDED, named=True):
        figures[bucket.function_id].counts.add(bucket)
    return figures


def stale_before(now: datetime | None = None) -> datetime:
    """What last reported before this has stopped reporting."""
    return (now or timezone.now()) - timedelta(seconds=settings.MONITOR_STALE_AFTER_S)


def breaker_summaries(function_ids: Iterable[int]) -> dict[int, BreakerSummary]:
    summaries: dict[int, BreakerSummary] = defaultdict(BreakerSummary)
    cutoff = stale_before()
    for breaker in Breaker.objects.filter(function_id__in=function_ids):
        summaries[breaker.function_id].add(breaker, cutoff)
    return summaries


def health(figures: Figures, breaker: BreakerSummary, last_seen: datetime | None = None, alerting: bool = False) -> str:
    if last_seen is not None and last_seen < stale_before():
        return "stale"
    rate = figures.error_rate
    if (rate is not None and rate >= settings.MONITOR_HEALTH_UNHEALTHY_ERROR_RATE) or (
        breaker.instances and breaker.open == breaker.instances
    ):
        return "unhealthy"
    p95_limit = settings.MONITOR_HEALTH_DEGRADED_P95_MS
    slow = bool(p95_limit) and (figures.p(0.95) or 0) > p95_limit
    if (
        (rate is not None and rate >= settings.MONITOR_HEALTH_DEGRADED_ERROR_RATE)
        or breaker.open
        or breaker.half_open
        or slow
        or alerting
    ):
        return "degraded"
    if rate is None and breaker.state is None:
        return "unknown"
    return "healthy"


# The same judgement in SQL. Worst first: the ranks of the "health" and "breaker" sorts.
BREAKER_RANKS = {"open": 0, "half_open": 1, "closed": 2}
HEALTH_RANKS = {"unhealthy": 0, "degraded": 1, "unknown": 2, "stale": 2, "healthy": 3}

# Each function's figures are added up once, in derived tables joined to it, and then
# judged as columns: correlated subqueries in a CASE were run again at every reference
# (eight per function, 1.2 s for 10,000 on PostgreSQL, which then also JIT-compiled them).
# Portable: PostgreSQL and SQLite run it as written.
JUDGED = """
WITH recent AS (
    SELECT function_id, SUM(success + failure + timeout + rejected) AS calls,
           SUM(failure + timeout + rejected) AS errors
    FROM {buckets} WHERE minute >= %s {only}
    GROUP BY function_id
),
fleet AS (
    SELECT function_id, MIN({rank}) AS worst, MAX({rank}) AS best
    FROM {breakers} WHERE updated >= %s {only}
    GROUP BY function_id
),
figures AS (
    SELECT f.id, s.name AS service, f.name, f.last_seen, f.alerting, COALESCE(r.calls, 0) AS calls,
           CAST(r.errors AS DOUBLE PRECISION) / CAST(NULLIF(r.calls, 0) AS DOUBLE PRECISION) AS error_rate,
           fleet.worst, fleet.best
    FROM {functions} f
    JOIN {services} s ON s.id = f.service_id
    LEFT JOIN recent r ON r.function_id = f.id
    LEFT JOIN fleet ON fleet.function_id = f.id
    WHERE TRUE {only_f}
),
judged AS (
    SELECT id, service, name, last_seen, calls, error_rate, COALESCE(worst, 3) AS breaker_rank,
           CASE WHEN last_seen < %s THEN 'stale'
                WHEN error_rate >= %s OR best = 0 THEN 'unhealthy'
                WHEN error_rate >= %s OR worst <= 1 OR alerting THEN 'degraded'
                WHEN calls = 0 AND worst IS NULL THEN 'unknown'
                ELSE 'healthy' END AS health
    FROM figures
)
"""
HEALTH_RANK_SQL = "CASE health " + " ".join(f"WHEN '{h}' THEN {n}" for h, n in HEALTH_RANKS.items()) + " END"


def judged_sql(functions: QuerySet[Function], minutes: int = WINDOW_MINUTES) -> tuple[str, list]:
    """A WITH clause defining `judged`: these functions as health() judges them (p95 aside),
    one row each: id, service, name, last_seen, calls (in the window), error_rate (null
    without calls), breaker_rank (the worst instance still reporting: 0 open, 1 half-open,
    2 closed, 3 none) and health. Follow it with a SELECT from judged."""
    rank = "CASE state " + " ".join(f"WHEN '{state}' THEN {n}" for state, n in BREAKER_RANKS.items()) + " END"
    # Only these functions' rows (a subquery repeated where needed, so the planner sees
    # each use), unless they are all of them: then nothing to restrict.
    only, only_f, base_params = "", "", []
    if functions.query.where:
        base, base_params = functions.order_by().values("id").query.sql_with_params()
        only, only_f = f"AND function_id IN ({base})", f"AND f.id IN ({base})"
    sql = JUDGED.format(
        only=only,
        only_f=only_f,
        rank=rank,
        buckets=CallBucket._meta.db_table,
        breakers=Breaker._meta.db_table,
        functions=Function._meta.db_table,
        services=Function._meta.get_field("service").related_model._meta.db_table,
    )
    cutoff = connection.ops.adapt_datetimefield_value(stale_before())
    start = connection.ops.adapt_datetimefield_value(window_start(minutes))
    thresholds = [settings.MONITOR_HEALTH_UNHEALTHY_ERROR_RATE, settings.MONITOR_HEALTH_DEGRADED_ERROR_RATE]
    return sql, [start, *base_params, cutoff, *base_params, *base_params, cutoff, *thresholds]


def judged_rows(functions: QuerySet[Function], select: str, then: str = "", params: tuple = ()) -> list[tuple]:
    """SELECT {select} FROM judged {then}: e.g. "id, health", "WHERE health = %s", ("stale",)."""
    sql, judged_params = judged_sql(functions)
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} SELECT {select} FROM judged {then}", [*judged_params, *params])
        return cursor.fetchall()
