"""One queue over a window: per step, the most its snapshots showed.

A backlog is judged by its worst moment, so each point holds the largest depth, in-flight
count, dead-letter count and oldest age of the snapshots in its step (and how many there
were). Minute snapshots are read where they are kept and the hourly roll-ups (which keep
those maxima) before that; a step of an hour or more takes the larger of both, so a series
crosses the roll-up boundary without a seam. Steps with no snapshot are left out: a gap in
the series is a time the queue did not report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Aggregate, Count, Max, QuerySet, Sum
from django.db.models.functions import TruncDay, TruncHour

from monitoring.ranges import DAY, Window

from .models import Queue, Snapshot, SnapshotHour


@dataclass
class Point:
    at: datetime
    depth: int
    in_flight: int
    dead_letter: int
    oldest_age_s: float | None
    samples: int

    def merge(self, other: Point) -> None:
        self.depth = max(self.depth, other.depth)
        self.in_flight = max(self.in_flight, other.in_flight)
        self.dead_letter = max(self.dead_letter, other.dead_letter)
        ages = [age for age in (self.oldest_age_s, other.oldest_age_s) if age is not None]
        self.oldest_age_s = max(ages) if ages else None
        self.samples += other.samples


def snapshots(queue: Queue, start: datetime, end: datetime | None = None) -> list[Point]:
    """Every snapshot from start (to end) as it was taken (the first API's series)."""
    rows = queue.snapshots.filter(at__gte=start).order_by("at")
    if end is not None:
        rows = rows.filter(at__lt=end)
    fields = ("at", "depth", "in_flight", "dead_letter", "oldest_age_s")
    return [Point(*row, samples=1) for row in rows.values_list(*fields)]


def series(queue: Queue, window: Window) -> list[Point]:
    """One point per step of the window that had a snapshot, oldest first."""
    points: dict[datetime, Point] = {}
    for point in by_minute(queue, window) if not window.hourly else by_hour(queue, window):
        if point.at in points:
            points[point.at].merge(point)
        else:
            points[point.at] = point
    return [points[moment] for moment in sorted(points)]


def by_minute(queue: Queue, window: Window) -> list[Point]:
    # Up to a day of snapshots: folded here, as a function's minute buckets are.
    return [
        Point(window.slot(p.at), p.depth, p.in_flight, p.dead_letter, p.oldest_age_s, 1)
        for p in snapshots(queue, window.start, window.end)
    ]


def by_hour(queue: Queue, window: Window) -> list[Point]:
    # Days of snapshots: grouped by the database, hour by hour (or day by day) in UTC as the
    # window's steps are aligned; the hourly roll-ups grouped the same way.
    minutes = Snapshot.objects.filter(queue=queue, at__gte=window.start, at__lt=window.end)
    hours = SnapshotHour.objects.filter(queue=queue, hour__gte=window.start, hour__lt=window.end)
    columns = ("depth", "in_flight", "dead_letter", "oldest_age_s")
    rolled = ("depth_max", "in_flight_max", "dead_letter_max", "oldest_age_max_s")
    return [
        *grouped(minutes, "at", window, dict(zip(columns, columns, strict=True)), Count("id")),
        *grouped(hours, "hour", window, dict(zip(columns, rolled, strict=True)), Sum("samples")),
    ]


def grouped(rows: QuerySet, moment: str, window: Window, columns: dict[str, str], samples: Aggregate) -> list[Point]:
    """The rows' maxima per step (an hour or a day, in UTC)."""
    trunc = TruncDay if window.step >= DAY else TruncHour
    maxima = {f"top_{name}": Max(column) for name, column in columns.items()}
    found = rows.annotate(slot=trunc(moment, tzinfo=UTC)).values("slot").annotate(**maxima, sampled=samples).order_by()
    return [Point(row["slot"], *(row[f"top_{name}"] for name in columns), samples=row["sampled"]) for row in found]
