"""Per-minute series of one function's calls, gaps filled with zeros."""

from __future__ import annotations

from datetime import datetime, timedelta

from .health import window_start
from .models import CallBucket, Function


def point(minute: datetime, bucket: CallBucket) -> dict:
    calls = bucket.calls
    return {
        "minute": minute,
        "calls": calls,
        "success": bucket.success,
        "failure": bucket.failure,
        "timeout": bucket.timeout,
        "rejected": bucket.rejected,
        "retries": bucket.retries,
        "error_rate": bucket.errors / calls if calls else None,
        "p50_ms": bucket.percentile(0.50),
        "p95_ms": bucket.percentile(0.95),
        "p99_ms": bucket.percentile(0.99),
        "avg_ms": bucket.latency_sum_ms / calls if calls else None,
        "max_ms": bucket.latency_max_ms if calls else None,
    }


def minute_series(function: Function, minutes: int) -> list[dict]:
    start = window_start(minutes)
    buckets: dict = {}
    shards = CallBucket.objects.filter(function=function, minute__gte=start)
    for shard in shards.values_list("minute", *CallBucket.FOLDED, named=True):
        buckets.setdefault(shard.minute, CallBucket()).add(shard)
    points = []
    for i in range(minutes):
        minute = start + timedelta(minutes=i)
        points.append(point(minute, buckets.get(minute) or CallBucket()))
    return points
