"""Helpers for the SLO tests: an SLO made through its actions, and minute buckets seeded
directly (a test clock and stored rows, not real hours of traffic)."""

from __future__ import annotations

from datetime import datetime, timedelta

from alerts import slo_changes
from alerts.models import SLO, Channel
from monitoring.models import CallBucket, CallHour, Function, Service

# A minute boundary plus 30 s: every window's edge falls between two buckets.
NOW = datetime.fromisoformat("2026-11-20T12:00:30+00:00")
MINUTE = timedelta(minutes=1)


def make_function(service: str = "payments", name: str = "charge") -> Function:
    owner, _ = Service.objects.get_or_create(name=service)
    return Function.objects.get_or_create(service=owner, name=name)[0]


def make_slo(on: Function, *channels: Channel, **fields: object) -> SLO:
    data = {
        "name": "checkout succeeds",
        "service": on.service.name,
        "function": on.name,
        "objective": "success",
        "target": 99.9,
        "latency_ms": None,
        "window_days": 30,
        "burn_alerts": SLO._meta.get_field("burn_alerts").default(),
        "channels": [c.id for c in channels],
        "enabled": True,
    }
    return slo_changes.create(None, {**data, **fields})


def seed_minutes(
    function: Function, minutes: int, calls: int, bad: int, end: datetime = NOW, histogram: dict | None = None
) -> int:
    """`minutes` buckets ending with end's minute, each `calls` calls of which `bad` failed."""
    last = end.replace(second=0, microsecond=0)
    rows = [
        CallBucket(
            function=function,
            minute=last - i * MINUTE,
            success=calls - bad,
            failure=bad,
            histogram=dict(histogram or {}),
        )
        for i in range(minutes)
    ]
    CallBucket.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def seed_hours(function: Function, start: datetime, hours: int, calls: int, bad: int) -> None:
    rows = [
        CallHour(function=function, hour=start + timedelta(hours=i), success=calls - bad, failure=bad)
        for i in range(hours)
    ]
    CallHour.objects.bulk_create(rows, batch_size=2000)
