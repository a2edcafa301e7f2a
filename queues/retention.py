"""Queue snapshots past retention are rolled into hourly rows; old hours are forgotten."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from monitoring.retention import CHUNK, forget_in_chunks, hour_of, roll_up

from .models import Snapshot, SnapshotHour


def add_snapshot(hour: SnapshotHour, snapshot: Snapshot) -> None:
    hour.samples += 1
    hour.depth_sum += snapshot.depth
    hour.depth_max = max(hour.depth_max, snapshot.depth)
    hour.in_flight_max = max(hour.in_flight_max, snapshot.in_flight)
    hour.dead_letter_max = max(hour.dead_letter_max, snapshot.dead_letter)
    if snapshot.oldest_age_s is not None:
        hour.oldest_age_max_s = max(hour.oldest_age_max_s or 0.0, snapshot.oldest_age_s)


def merge_hours(into: SnapshotHour, other: SnapshotHour) -> None:
    into.samples += other.samples
    into.depth_sum += other.depth_sum
    into.depth_max = max(into.depth_max, other.depth_max)
    into.in_flight_max = max(into.in_flight_max, other.in_flight_max)
    into.dead_letter_max = max(into.dead_letter_max, other.dead_letter_max)
    ages = [age for age in (into.oldest_age_max_s, other.oldest_age_max_s) if age is not None]
    into.oldest_age_max_s = max(ages) if ages else None


def roll_up_chunk(cutoff: datetime) -> int:
    with transaction.atomic():
        snapshots = list(Snapshot.objects.filter(at__lt=cutoff).order_by("id")[:CHUNK])
        if not snapshots:
            return 0
        hours: dict[tuple[int, datetime], SnapshotHour] = {}
        for snapshot in snapshots:
            key = (snapshot.queue_id, hour_of(snapshot.at))
            hour = hours.setdefault(key, SnapshotHour(queue_id=key[0], hour=key[1]))
            add_snapshot(hour, snapshot)
        stored = SnapshotHour.objects.select_for_update().filter(
            queue_id__in={key[0] for key in hours}, hour__in={key[1] for key in hours}
        )
        for row in stored:
            key = (row.queue_id, row.hour)
            if key in hours:
                merge_hours(row, hours[key])
                hours[key] = row
        SnapshotHour.objects.bulk_create(
            [hours[key] for key in sorted(hours)],
            update_conflicts=True,
            unique_fields=["queue", "hour"],
            update_fields=["samples", "depth_sum", "depth_max", "in_flight_max", "dead_letter_max", "oldest_age_max_s"],
        )
        Snapshot.objects.filter(id__in=[snapshot.id for snapshot in snapshots]).delete()
    return len(snapshots)


def roll_up_snapshots(now: datetime | None = None) -> int:
    return roll_up(roll_up_chunk, "queue snapshots", now)


def forget_old_hours(now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - timedelta(days=settings.MONITOR_HOURLY_RETENTION_DAYS)
    return forget_in_chunks(SnapshotHour.objects.filter(hour__lt=cutoff), "hours of queue snapshots")
