"""One function's calls over a window, one point per step, gaps filled with zeros.

Minute buckets are read where they are kept, hourly roll-ups before that; a step of an
hour or more adds both up, so a series crosses the roll-up boundary without a seam.
"""

from __future__ import annotations

from datetime import datetime

from .models import CallBucket, CallHour, Function
from .ranges import Window


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
    points: dict[datetime, CallBucket] = {}
    minutes = CallBucket.objects.filter(function=function, minute__gte=window.start, minute__lt=window.end)
    # Plain rows, not model instances: a week of minutes is ten thousand of them.
    for row in minutes.values_list("minute", *CallBucket.FOLDED, named=True):
        points.setdefault(window.slot(row.minute), CallBucket()).add(row)
    if window.hourly:
        hours = CallHour.objects.filter(function=function, hour__gte=window.start, hour__lt=window.end)
        for row in hours.values_list("hour", *CallHour.FOLDED, named=True):
            points.setdefault(window.slot(row.hour), CallBucket()).add(row)
    return points


def series(function: Function, window: Window) -> list[dict]:
    points = folded(function, window)
    return [point(moment, points.get(moment) or CallBucket()) for moment in window.slots()]


def totals(function: Function, window: Window) -> dict:
    """The whole window as one point: calls, errors and percentiles over the range."""
    total = CallBucket()
    for counts in folded(function, window).values():
        total.add(counts)
    return point(window.start, total)
