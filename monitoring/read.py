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
    WINDOW_MINUTES,
    BreakerSummary,
    Figures,
    breaker_summaries,
    health,
    recent_figures,
    stale_before,
    window_start,
)
from .inputs import Text
from .models import Breaker, BreakerState, CallBucket, Function
from .outcomes import recent_outcomes
from .paging import Rows
from .writers import writer

# Worst first: the order of the "health" sort and of the overview's trouble list.
HEALTH_RANK = {"unhealthy": 0, "degraded": 1, "unknown": 2, "stale": 2, "healthy": 3}
BREAKER_RANK = {"open": 0, "half_open": 1, "closed": 2, None: 3}
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
    health: str | None = Field(None, pattern="^(healthy|degraded|unhealthy|unknown|stale)$")
    breaker: str | None = Field(None, pattern="^(open|half_open|closed)$", description="the fleet state")
    sort: str | None = Field(None, pattern=SORT_PATTERN, description='a column; "-" first sorts descending')

    def by_figures(self) -> bool:
        """Filters and sorts on figures are applied in Python, over every matching function."""
        return bool(self.health or self.breaker or self.sort)


def function_out(function: Function, figures: Figures, breaker: BreakerSummary, outcomes: list[str]) -> dict:
    return {
        "id": function.id,
        "service": function.service.name,
        "name": function.name,
        "health": health(figures, breaker, function.last_seen),
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
    """Judging health (or sorting) needs every function's p95, not just its counts."""
    return bool(settings.MONITOR_HEALTH_DEGRADED_P95_MS) or (sort or "").lstrip("-") == "p95"


def window_counts(functions: QuerySet[Function]) -> dict[int, CallBucket]:
    """Each function's calls in the health window, counts only, added up by the database."""
    buckets = CallBucket.objects.filter(minute__gte=window_start(WINDOW_MINUTES), function__in=functions)
    sums = {name: Sum(name) for name in ("success", "failure", "timeout", "rejected", "retries")}
    rows = buckets.order_by().values("function_id").annotate(**sums)
    return {row.pop("function_id"): CallBucket(**row) for row in rows}


def judged_rows(functions: QuerySet[Function]) -> list[dict]:
    """Every function's health, breaker state and 5-minute counts, without its histograms:
    enough to filter and sort by all but p95, for ten thousand functions at once."""
    counts = window_counts(functions)
    breakers = breaker_summaries(functions.values("id"))
    found = functions.values_list("id", "name", "service__name", "last_seen")
    rows = []
    for function_id, name, service, last_seen in found:
        figures, breaker = Figures(counts.get(function_id, CallBucket())), breakers[function_id]
        rows.append(
            {
                "id": function_id,
                "name": name,
                "service": service,
                "last_seen": last_seen,
                "health": health(figures, breaker, last_seen),
                "breaker": {"state": breaker.state},
                "calls_5m": figures.calls,
                "error_rate_5m": figures.error_rate,
                "p95_ms_5m": None,
            }
        )
    return rows


def in_full(rows: list[dict]) -> list[dict]:
    """The rows of these functions with all their figures, in the same order."""
    found = Function.objects.select_related("service").filter(id__in=[row["id"] for row in rows])
    full = {row["id"]: row for row in functions_out(list(found))}
    return [full[row["id"]] for row in rows]


class FullOnPage:
    """Judged rows, shown in full only for the page asked for."""

    def __init__(self, rows: list[dict]) -> None:
        self.rows = rows

    def __getitem__(self, page: slice) -> list[dict]:
        return in_full(self.rows[page])

    def __len__(self) -> int:
        return len(self.rows)


def find_functions(filters: FunctionFilters) -> Rows | FullOnPage | list[dict]:
    """The matching functions' rows. Filters and sorts on figures judge every matching
    function (from counts alone where they can); otherwise only the page asked for is computed."""
    functions = Function.objects.select_related("service")
    if filters.service:
        functions = functions.filter(service__name=filters.service)
    if filters.q:
        functions = functions.filter(Q(name__icontains=filters.q))
    if not filters.by_figures():
        return Rows(functions, functions_out)
    histograms = needs_histograms(filters.sort)
    rows = [
        row
        for row in (functions_out(list(functions)) if histograms else judged_rows(functions))
        if filters.health in (None, row["health"]) and filters.breaker in (None, row["breaker"]["state"])
    ]
    rows = sort_rows(rows, filters.sort or "service")
    return rows if histograms else FullOnPage(rows)


def functions_by_id(ids: list[int]) -> list[dict]:
    """The rows of those of these functions that exist, in id order."""
    return functions_out(list(Function.objects.select_related("service").filter(id__in=ids).order_by("id")))


def function_row(function_id: int) -> dict:
    """One function's row (health, breaker, figures); 404 if unknown."""
    return functions_out([get_object_or_404(Function.objects.select_related("service"), id=function_id)])[0]


def function_detail(function_id: int) -> dict:
    """One function with its instances' breakers, recent flips and concurrency; 404 if unknown."""
    function = get_object_or_404(Function.objects.select_related("service"), id=function_id)
    out = functions_out([function])[0]
    out["breaker_instances"] = list(
        function.breakers.order_by("instance").values("instance", "state", "since", "updated")
    )
    out["breaker_flips"] = list(function.breaker_flips.order_by("-at")[:100])
    out["concurrency"] = list(function.concurrency.order_by("instance"))
    return out


# Fleet-wide figures: every function's calls folded together.


def calls_over(minutes: int) -> Figures:
    """All functions' calls in the last minutes, folded (counts only, no histogram)."""
    totals = CallBucket.objects.filter(minute__gte=window_start(minutes)).aggregate(
        success=Sum("success"), failure=Sum("failure"), timeout=Sum("timeout"), rejected=Sum("rejected")
    )
    return Figures(CallBucket(**{name: value or 0 for name, value in totals.items()}))


def p95_over(minutes: int) -> float | None:
    """Every function's calls in the last minutes as one histogram, added up by the database."""
    merged = writer().histogram_sum(CallBucket._meta.db_table, window_start(minutes))
    return histogram.percentile(merged, 0.95)


def possibly_in_trouble(minutes: int = WINDOW_MINUTES) -> set[int]:
    """Functions health() might call degraded or unhealthy: a superset, found without figures.

    A function is in trouble only with a breaker not closed, or calls that failed, or (when
    a p95 limit is set, or a threshold of 0) any calls at all; the rest cannot be, so
    the overview need not compute a row for each of ten thousand functions to pick ten.
    """
    breakers = Breaker.objects.exclude(state=BreakerState.CLOSED).filter(updated__gte=stale_before())
    ids = set(breakers.values_list("function_id", flat=True))
    recent = CallBucket.objects.filter(minute__gte=window_start(minutes))
    any_call_counts = (
        settings.MONITOR_HEALTH_DEGRADED_P95_MS > 0
        or settings.MONITOR_HEALTH_DEGRADED_ERROR_RATE <= 0
        or settings.MONITOR_HEALTH_UNHEALTHY_ERROR_RATE <= 0
    )
    if not any_call_counts:
        recent = recent.filter(Q(failure__gt=0) | Q(timeout__gt=0) | Q(rejected__gt=0))
    ids.update(recent.values_list("function_id", flat=True).distinct())
    return ids


def success_rate(figures: Figures) -> float | None:
    return None if figures.error_rate is None else 1.0 - figures.error_rate


def open_breakers() -> int:
    """Functions whose breaker is open on at least one instance still reporting."""
    breakers = Breaker.objects.filter(state=BreakerState.OPEN, updated__gte=stale_before())
    return breakers.values("function_id").distinct().count()
