"""Old minute buckets and snapshots roll up into hours; their totals survive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pytest_django import Settings

from monitoring import retention
from monitoring.models import CallBucket, CallHour, Function, IngestBatch, Refusal, Service
from queues import retention as queue_retention
from queues.models import Queue, Snapshot, SnapshotHour


def test_old_minutes_roll_into_hours_and_keep_their_totals(db: None) -> None:
    function = Function.objects.create(service=Service.objects.create(name="s"), name="f")
    old = datetime(2026, 10, 1, 10, 0, tzinfo=UTC)
    for minute in range(3):
        CallBucket.objects.create(
            function=function,
            minute=old + timedelta(minutes=minute),
            success=10,
            failure=2,
            latency_sum_ms=120.0,
            latency_max_ms=50.0 + minute,
            histogram={"90": 12},
        )
    recent = datetime.now(UTC).replace(second=0, microsecond=0)
    CallBucket.objects.create(function=function, minute=recent, success=1)
    assert retention.roll_up_calls() == 3
    hour = CallHour.objects.get()
    assert (hour.hour, hour.success, hour.failure, hour.latency_max_ms) == (old, 30, 6, 52.0)
    assert hour.histogram == {"90": 36}
    assert list(CallBucket.objects.values_list("minute", flat=True)) == [recent]


def test_rolling_up_twice_adds_to_the_same_hour(db: None) -> None:
    function = Function.objects.create(service=Service.objects.create(name="s"), name="f")
    old = datetime(2026, 10, 1, 10, 0, tzinfo=UTC)
    CallBucket.objects.create(function=function, minute=old, success=4, histogram={"1": 4})
    retention.roll_up_calls()
    CallBucket.objects.create(function=function, minute=old + timedelta(minutes=30), success=6, histogram={"1": 6})
    retention.roll_up_calls()
    hour = CallHour.objects.get()
    assert (hour.success, hour.histogram) == (10, {"1": 10})


def test_hours_past_their_retention_are_forgotten(db: None, settings: Settings) -> None:
    function = Function.objects.create(service=Service.objects.create(name="s"), name="f")
    now = datetime.now(UTC)
    CallHour.objects.create(function=function, hour=now - timedelta(days=settings.MONITOR_HOURLY_RETENTION_DAYS + 1))
    CallHour.objects.create(function=function, hour=now - timedelta(days=2))
    assert retention.forget_old_hours() == 1
    assert CallHour.objects.count() == 1


def test_old_snapshots_roll_into_hours(db: None) -> None:
    queue = Queue.objects.create(service=Service.objects.create(name="s"), name="email")
    old = datetime(2026, 10, 1, 10, 0, tzinfo=UTC)
    for i, depth in enumerate([10, 30, 20]):
        Snapshot.objects.create(
            queue=queue, at=old + timedelta(minutes=i), depth=depth, dead_letter=i, oldest_age_s=i * 5.0
        )
    assert queue_retention.roll_up_snapshots() == 3
    hour = SnapshotHour.objects.get()
    assert (hour.samples, hour.depth_max, hour.depth_avg, hour.dead_letter_max, hour.oldest_age_max_s) == (
        3,
        30,
        20.0,
        2,
        10.0,
    )
    assert not Snapshot.objects.exists()


def test_idempotency_keys_are_kept_for_the_window_then_forgotten(db: None, settings: Settings) -> None:
    service = Service.objects.create(name="s")
    now = datetime.now(UTC)
    IngestBatch.objects.create(service=service, key="old", body_digest="x", created=now - timedelta(hours=49))
    IngestBatch.objects.create(service=service, key="new", body_digest="x", created=now - timedelta(hours=23))
    assert retention.forget_old_batches() == 1
    assert list(IngestBatch.objects.values_list("key", flat=True)) == ["new"]


def test_refusal_counts_are_kept_as_long_as_minute_buckets(db: None, settings: Settings) -> None:
    settings.MONITOR_RAW_RETENTION_DAYS = 14
    service = Service.objects.create(name="s")
    today = datetime.now(UTC).date()
    Refusal.objects.create(service=service, day=today - timedelta(days=15), reason="rate", count=3)
    Refusal.objects.create(service=service, day=today - timedelta(days=14), reason="rate", count=2)
    assert retention.forget_old_refusals() == 1
    assert list(Refusal.objects.values_list("count", flat=True)) == [2]
