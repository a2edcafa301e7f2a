"""One function's calls over a window, one point per step, gaps filled with zeros.

Minute buckets are read where they are kept, hourly roll-ups before that; a step of an
hour or more adds both up, so a series crosses the roll-up boundary without a seam.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .models import CallBucket, CallHour, Function
from .ranges import EPOCH, Window
from .writers import SeriesSource, writer


def point(moment: datetime, counts: CallBucket) -> dict:
    calls = counts.calls
    return {
        "minute": moment,
        "calls": calls,
        "success": counts.success,
        "failure": counts.failure,
        "timeout": counts.timeout,
        "rejected": counts.rejected,
        "retries": counts.retries,
        "retries_per_call": counts.retries / calls if calls else None,
        "error_rate": counts.errors / calls if calls else None,
        "p50_ms": counts.percentile(0.50),
        "p95_ms": counts.percentile(0.95),
        "p99_ms": counts.percentile(0.99),
        "avg_ms": counts.latency_sum_ms / calls if calls else None,
        "max_ms": counts.latency_max_ms if calls else None,
    }


def folded(function: Function, window: Window) -> dict[datetime, CallBucket]:
    """The function's calls added up per point of the window."""
    return summed_by_database(function, window) if window.hourly else folded_here(function, window)


def folded_here(function: Function, window: Window) -> dict[datetime, CallBucket]:
    # Up to a day of minute buckets: a few hundred plain rows fold faster here than the
    # database groups them (measured: 1 h took 12 ms here, 70 ms grouped in SQL).
    points: dict[datetime, CallBucket] = {}
    minutes = CallBucket.objects.filter(function=function, minute__gte=window.start, minute__lt=window.end)
    for row in minutes.values_list("minute", *CallBucket.FOLDED, named=True):
        points.setdefault(window.slot(row.minute), CallBucket()).add(row)
    return points


def summed_by_database(function: Function, window: Window) -> dict[datetime, CallBucket]:
    # Days of minute buckets and hourly roll-ups: tens of thousands of rows, grouped by the
    # database into a few hundred (measured: 30 days took 920 ms folded here, 445 ms grouped).
    step_s = int(window.step.total_seconds())
    sources = [SeriesSource(CallBucket._meta.db_table, "minute", function.id, window.start, window.end, step_s)]
    if window.hourly:
        sources.append(SeriesSource(CallHour._meta.db_table, "hour", function.id, window.start, window.end, step_s))
    points: dict[datetime, CallBucket] = {}
    for source in sources:
        for slot, counts in writer().series(source).items():
            points.setdefault(EPOCH + timedelta(seconds=slot), CallBucket()).add(counts)
    return points


def series(function: Function, window: Window) -> tuple[list[dict], dict]:
    """One point per step of the window, and the whole window as one point (its totals)."""
    points = folded(function, window)
    total = CallBucket()
    for counts in points.values():
        total.add(counts)
    return [point(moment, points.get(moment) or CallBucket()) for moment in window.slots()], point(window.start, total)
