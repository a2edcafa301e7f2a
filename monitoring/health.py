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

`health()` judges one function from its figures; `judged()` says the same in SQL for a
whole queryset (to filter, sort and count ten thousand functions without reading them),
from counts alone: it cannot judge p95, so callers use it only while no p95 limit is set.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import (
    Case,
    F,
    FloatField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, NullIf
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


# The same judgement in SQL. Breaker states ranked worst first: an instance's rank, the
# function's worst (its fleet state) and best (all open when the best is open).
BREAKER_RANKS = {"open": 0, "half_open": 1, "closed": 2}
HEALTH_RANKS = {"unhealthy": 0, "degraded": 1, "unknown": 2, "stale": 2, "healthy": 3}


def _bucket_sum(fields: tuple[str, ...], start: datetime) -> Coalesce:
    buckets = CallBucket.objects.filter(function=OuterRef("pk"), minute__gte=start).order_by()
    total = sum((F(name) for name in fields[1:]), F(fields[0]))
    return Coalesce(Subquery(buckets.values("function").annotate(n=Sum(total)).values("n")), 0)


def _breaker_rank(aggregate: type[Min] | type[Max], cutoff: datetime) -> Subquery:
    rank = Case(*(When(state=state, then=Value(n)) for state, n in BREAKER_RANKS.items()))
    breakers = Breaker.objects.filter(function=OuterRef("pk"), updated__gte=cutoff).order_by()
    return Subquery(breakers.values("function").annotate(n=aggregate(rank)).values("n"))


def judged(functions: QuerySet[Function], minutes: int = WINDOW_MINUTES) -> QuerySet[Function]:
    """These functions with what health() judges, said by the database (p95 aside), as
    aliases to filter and order by (not selected; each reference is computed where used):
    calls_5m, error_rate_5m (null without calls), breaker_rank (the worst instance still
    reporting: 0 open, 1 half-open, 2 closed, 3 none), health and health_rank."""
    cutoff = stale_before()
    calls = ("success", "failure", "timeout", "rejected")
    functions = functions.alias(
        calls_5m=_bucket_sum(calls, window_start(minutes)),
        errors_5m=_bucket_sum(calls[1:], window_start(minutes)),
        breaker_worst=_breaker_rank(Min, cutoff),
        breaker_best=_breaker_rank(Max, cutoff),
    )
    # Divided as Python divides (two doubles); NULLIF: no calls, no rate (and no division by 0).
    rate = Cast("errors_5m", FloatField()) / Cast(NullIf("calls_5m", 0), FloatField())
    functions = functions.alias(error_rate_5m=rate, breaker_rank=Coalesce("breaker_worst", 3))
    # In health()'s order: the first that holds decides.
    decided = {
        "stale": Q(last_seen__lt=cutoff),
        "unhealthy": Q(error_rate_5m__gte=settings.MONITOR_HEALTH_UNHEALTHY_ERROR_RATE) | Q(breaker_best=0),
        "degraded": Q(error_rate_5m__gte=settings.MONITOR_HEALTH_DEGRADED_ERROR_RATE)
        | Q(breaker_worst__lte=1)
        | Q(alerting=True),
        "unknown": Q(calls_5m=0, breaker_worst__isnull=True),
    }
    return functions.alias(
        health=Case(*(When(q, then=Value(name)) for name, q in decided.items()), default=Value("healthy")),
        # Not a CASE over `health`: that would repeat its whole CASE in each branch.
        health_rank=Case(
            *(When(q, then=Value(HEALTH_RANKS[name])) for name, q in decided.items()),
            default=Value(HEALTH_RANKS["healthy"]),
        ),
    )
