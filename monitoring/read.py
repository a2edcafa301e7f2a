"""The functions' read layer: what both the pages and the API show of functions.

Plain functions returning dicts that templates and ninja schemas both take.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db.models import Q, QuerySet, Sum
from django.shortcuts import get_object_or_404
from ninja import Schema
from pydantic import Field

from . import histogram
from .health import (
    BREAKER_RANKS,
    HEALTH_RANK_SQL,
    HEALTH_RANKS,
    WINDOW_MINUTES,
    BreakerSummary,
    Figures,
    breaker_summaries,
    health,
    judged_rows,
    recent_figures,
    stale_before,
    window_start,
)
from .inputs import Text
from .models import Breaker, BreakerState, CallBucket, Function
from .outcomes import recent_outcomes
from .paging import Rows
from .projects import User, scoped
from .writers import writer

# Worst first: the order of the "health" sort and of the overview's trouble list.
HEALTH_RANK = HEALTH_RANKS
BREAKER_RANK = {**BREAKER_RANKS, None: 3}
SORTS: dict[str, Callable[[dict], object]] = {
    "service": lambda row: (row["service"], row["name"]),
    "name": lambda row: (row["name"], row["service"]),
    "health": lambda row: HEALTH_RANK[row["health"]],
    "breaker": lambda row: BREAKER_RANK[row["breaker"]["state"]],
    "calls": lambda row: row["calls_5m"],
    "error_rate": lambda row: row["error_rate_5m"] if row["error_rate_5m"] is not None else -1.0,
    "p95": lambda row: row["p95_ms_5m"] if row["p95_ms_5m"] is not None else -1.0,
    "last_seen": lambda row: row["last_seen"].timestamp() if row["last_seen"] else 0.0,
    "trouble": lambda row: (
        HEALTH_RANK[row["health"]],
        BREAKER_RANK[row["breaker"]["state"]],
        -(row["error_rate_5m"] or 0.0),
        -row["calls_5m"],
    ),
}
SORT_PATTERN = "^-?(" + "|".join(SORTS) + ")$"


def sort_rows(rows: list[dict], sort: str) -> list[dict]:
    """Sort function rows by a SORTS key; a leading "-" reverses it. Ties keep name order."""
    key = SORTS[sort.lstrip("-")]
    return sorted(rows, key=key, reverse=sort.startswith("-"))


class FunctionFilters(Schema):
    service: Text | None = Field(None, max_length=200)
    q: Text | None = Field(None, max_length=200, description="part of the function name")
    health: str | None = Field(
        None, pattern="^(healthy|degraded|unhealthy|unknown|stale)$", description="as decided in docs/health.md"
    )
    breaker: str | None = Field(None, pattern="^(open|half_open|closed)$", description="the fleet state")
    sort: str | None = Field(None, pattern=SORT_PATTERN, description='a column; "-" first sorts descending')

    def by_figures(self) -> bool:
        """Filters and sorts on figures judge every matching function (in the database, or in
        Python for p95); the others page through the functions table as it is."""
        return bool(self.health or self.breaker or self.sort)


def function_out(function: Function, figures: Figures, breaker: BreakerSummary, outcomes: list[str]) -> dict:
    return {
        "id": function.id,
        "service": function.service.name,
        "name": function.name,
        "health": health(figures, breaker, function.last_seen, function.alerting),
        "breaker": breaker.as_dict(),
        "calls_5m": figures.calls,
        "error_rate_5m": figures.error_rate,
        "p95_ms_5m": figures.p(0.95),
        "last_seen": function.last_seen,
        "recent_outcomes": outcomes,
    }


def functions_out(functions: list[Function]) -> list[dict]:
    ids = [function.id for function in functions]
    figures = recent_figures(ids, WINDOW_MINUTES)
    breakers = breaker_summaries(ids)
    outcomes = recent_outcomes(ids)
    return [function_out(f, figures[f.id], breakers[f.id], outcomes.get(f.id, [])) for f in functions]


def needs_histograms(sort: str | None = None) -> bool:
    """Judging health (or sorting) needs every function's p95, not just its counts: the
    database cannot read p95 from the histograms, so these are judged in Python."""
    return bool(settings.MONITOR_HEALTH_DEGRADED_P95_MS) or (sort or "").lstrip("-") == "p95"


# The SORTS said in SQL over `judged` (health.judged_sql). A "-" reverses every key, as
# Python's reverse sort does; ties keep the functions' own order (service, then name)
# either way, as Python's stable sort does. A last_seen never set counts as the earliest.
ORDER_BY = {
    "service": ("service", "name"),
    "name": ("name", "service"),
    "health": (HEALTH_RANK_SQL,),
    "breaker": ("breaker_rank",),
    "calls": ("calls",),
    "error_rate": ("COALESCE(error_rate, -1.0)",),
    "last_seen": ("last_seen",),
    "trouble": (HEALTH_RANK_SQL, "breaker_rank", "-COALESCE(error_rate, 0.0)", "-calls"),
}


def order_by(sort: str) -> str:
    direction = "DESC NULLS LAST" if sort.startswith("-") else "ASC NULLS FIRST"
    keys = [f"{key} {direction}" for key in ORDER_BY[sort.lstrip("-")]]
    return "ORDER BY " + ", ".join([*keys, "service", "name", "id"])


class Judged:
    """Functions judged by the database, filtered by health or breaker and sorted: counted
    there, and only the page asked for read and computed in full."""

    def __init__(
        self, functions: QuerySet[Function], sort: str, health: tuple[str, ...] = (), breaker: str | None = None
    ) -> None:
        self.functions = functions
        conditions, self.params = [], []
        if health:
            conditions.append(f"health IN ({', '.join(['%s'] * len(health))})")
            self.params.extend(health)
        if breaker:
            conditions.append("breaker_rank = %s")
            self.params.append(BREAKER_RANKS[breaker])
        self.where = "WHERE " + " AND ".join(conditions) if conditions else ""
        self.order = order_by(sort)
        self.count: int | None = None

    def __getitem__(self, page: slice) -> list[dict]:
        # The total comes with the page (COUNT(*) OVER ()): the database judges every
        # matching function once, not once for the page and again for the count.
        limit = f"LIMIT {int(page.stop - page.start)} OFFSET {int(page.start)}"
        then = f"{self.where} {self.order} {limit}"
        found = judged_rows(self.functions, "id, COUNT(*) OVER ()", then, self.params)
        if found:
            self.count = found[0][1]
        ids = [row[0] for row in found]
        functions = Function.objects.select_related("service").in_bulk(ids)
        return functions_out([functions[i] for i in ids if i in functions])

    def __len__(self) -> int:
        if self.count is None:
            self.count = judged_rows(self.functions, "COUNT(*)", self.where, self.params)[0][0]
        return self.count


def trouble_candidates(minutes: int = WINDOW_MINUTES) -> Q:
    """Functions health() might call degraded or unhealthy: a superset, found with indexes.

    A function is in trouble only with a rule holding against it, a breaker not closed, or
    calls that failed (or any calls, with a p95 limit set or a threshold of 0); the rest
    cannot be, so Python need not judge all ten thousand functions with their histograms to
    find the ten worst.
    """
    breakers = Breaker.objects.exclude(state=BreakerState.CLOSED).filter(updated__gte=stale_before())
    recent = CallBucket.objects.filter(minute__gte=window_start(minutes))
    any_call_counts = (
        settings.MONITOR_HEALTH_DEGRADED_P95_MS > 0
        or settings.MONITOR_HEALTH_DEGRADED_ERROR_RATE <= 0
        or settings.MONITOR_HEALTH_UNHEALTHY_ERROR_RATE <= 0
    )
    if not any_call_counts:
        recent = recent.filter(Q(failure__gt=0) | Q(timeout__gt=0) | Q(rejected__gt=0))
    return Q(alerting=True) | Q(id__in=breakers.values("function_id")) | Q(id__in=recent.values("function_id"))


def visible_functions(user: User | None) -> QuerySet[Function]:
    """The functions of the projects the person may see (monitoring/projects.py)."""
    return scoped(Function.objects.select_related("service"), user)


def find_functions(filters: FunctionFilters, user: User | None) -> Rows | Judged | list[dict]:
    """The matching functions' rows (of the person's projects), only the page asked for
    computed in full. Filters and sorts on figures are judged by the database (`Judged`),
    except a sort by p95 or with a p95 limit set: then every matching function is judged in
    Python, with its histograms."""
    functions = visible_functions(user)
    if filters.service:
        functions = functions.filter(service__name=filters.service)
    if filters.q:
        functions = functions.filter(Q(name__icontains=filters.q))
    if not filters.by_figures():
        return Rows(functions, functions_out)
    if needs_histograms(filters.sort):
        rows = [
            row
            for row in functions_out(list(functions))
            if filters.health in (None, row["health"]) and filters.breaker in (None, row["breaker"]["state"])
        ]
        return sort_rows(rows, filters.sort or "service")
    health = (filters.health,) if filters.health else ()
    return Judged(functions, filters.sort or "service", health, filters.breaker)


def in_trouble(limit: int = 10, functions: QuerySet[Function] | None = None) -> list[dict]:
    """The functions most in trouble (unhealthy, then degraded; worst breaker, error rate
    and most calls first), at most limit of them, in full; of these functions (default all)."""
    if needs_histograms():
        candidates = (functions or Function.objects.select_related("service")).filter(trouble_candidates())
        rows = sort_rows(functions_out(list(candidates)), "trouble")
        return [row for row in rows if row["health"] in ("unhealthy", "degraded")][:limit]
    # All of them, not just trouble_candidates(): an OR of subqueries, repeated in each part
    # of the statement, cost more than judging every function (and made PostgreSQL's
    # estimate large enough to JIT-compile the query: 360 ms more at 10,000 functions).
    return Judged(Function.objects.all() if functions is None else functions, "trouble", ("unhealthy", "degraded"))[
        0:limit
    ]


def functions_by_id(ids: list[int], user: User | None) -> list[dict]:
    """The rows of those of these functions that exist (and the person may see), in id order."""
    return functions_out(list(visible_functions(user).filter(id__in=ids).order_by("id")))


def function_row(function_id: int, user: User | None) -> dict:
    """One function's row (health, breaker, figures); 404 if unknown or not the person's to see."""
    return functions_out([get_object_or_404(visible_functions(user), id=function_id)])[0]


def function_detail(function_id: int, user: User | None) -> dict:
    """One function with its instances' breakers, recent flips and concurrency; 404 if unknown
    or of a project the person may not see."""
    function = get_object_or_404(visible_functions(user), id=function_id)
    out = functions_out([function])[0]
    out["breaker_instances"] = list(
        function.breakers.order_by("instance").values("instance", "state", "since", "updated")
    )
    out["breaker_flips"] = list(function.breaker_flips.order_by("-at")[:100])
    out["concurrency"] = list(function.concurrency.order_by("instance"))
    return out


# Fleet-wide figures: every function's calls folded together.


def calls_over(minutes: int, functions: QuerySet[Function] | None = None) -> Figures:
    """All functions' (or these functions') calls in the last minutes, folded (counts only, no histogram)."""
    buckets = CallBucket.objects.filter(minute__gte=window_start(minutes))
    if functions is not None:
        buckets = buckets.filter(function__in=functions.values("id"))
    totals = buckets.aggregate(
        success=Sum("success"), failure=Sum("failure"), timeout=Sum("timeout"), rejected=Sum("rejected")
    )
    return Figures(CallBucket(**{name: value or 0 for name, value in totals.items()}))


def p95_over(minutes: int, functions: QuerySet[Function] | None = None) -> float | None:
    """Every function's (or these functions') calls in the last minutes as one histogram,
    added up by the database."""
    merged = writer().histogram_sum(CallBucket._meta.db_table, window_start(minutes), functions)
    return histogram.percentile(merged, 0.95)


def success_rate(figures: Figures) -> float | None:
    return None if figures.error_rate is None else 1.0 - figures.error_rate


def open_breakers(functions: QuerySet[Function] | None = None) -> int:
    """Functions (of these, default all) whose breaker is open on at least one instance still reporting."""
    breakers = Breaker.objects.filter(state=BreakerState.OPEN, updated__gte=stale_before())
    if functions is not None:
        breakers = breakers.filter(function__in=functions.values("id"))
    return breakers.values("function_id").distinct().count()
