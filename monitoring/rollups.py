"""Each service's calls added up per minute and per hour, so a service's or the fleet's trend
reads a few rows per step instead of every function's minute buckets.

- `fold()` (a periodic job, every minute) adds up the minute buckets of settled minutes
  (older than SETTLE) per service into ServiceMinute, in one SQL statement, and each hour
  it completes into ServiceHour; RollupMark says which minutes [since, through) are folded.
  Each row is written whole (a re-fold replaces it), so folding a minute again is harmless.
- Late calls: ingest takes calls up to 24 h old. A batch holding a call older than LATE
  (less than SETTLE, so a batch still being written when the fold passes its minute is
  caught too) records its (service, minute) in LateMinute; the fold folds those again and
  forgets them. Only such batches pay for it; a steady reporter's batches write nothing more.
- Readers (`trends.py`) use the roll-ups for [since, through) and the minute buckets for the
  rest of a range and for the minutes LateMinute lists: the answer does not depend on
  whether the fold has run.

Not counted: a function deleted after its minutes were folded still counts in its service's
roll-ups (its own buckets are gone with it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .models import CallBucket, Function, LateMinute, RollupMark, ServiceHour, ServiceMinute
from .ranges import HOUR, floor, minute_cutoff
from .writers import writer

MINUTE = timedelta(minutes=1)
# A minute is folded once it is SETTLE old; a call is late (its minute recorded) once it is
# LATE old. The gap is the time a batch may take between reading the clock and committing
# (the database's lock timeout is 5 s) and the clocks' drift between processes.
SETTLE = timedelta(minutes=2)
LATE = timedelta(minutes=1)
# The most late minutes one transaction folds again.
MOST_LATE = 2000

SUMS = (
    "SUM(success) AS success, SUM(failure) AS failure, SUM(timeout) AS timeout, SUM(rejected) AS rejected,"
    " SUM(retries) AS retries, SUM(latency_sum_ms) AS latency_sum_ms, MAX(latency_max_ms) AS latency_max_ms"
)
COLUMNS = ("success", "failure", "timeout", "rejected", "retries", "latency_sum_ms", "latency_max_ms", "histogram")
# A service's minute buckets added up per minute: the counts, and the histograms merged key by
# key and made one object again. WHERE true: without it SQLite would read ON CONFLICT as
# part of the SELECT's join.
FOLD_MINUTES = """
INSERT INTO {minutes} (service_id, minute, {columns})
SELECT c.service_id, c.minute, {counted}, COALESCE(h.histogram, '{{}}')
FROM (
    SELECT f.service_id, {buckets}.minute, {sums}
    FROM {buckets} JOIN {functions} f ON f.id = {buckets}.function_id
    WHERE {buckets}.minute >= %(start)s AND {buckets}.minute < %(end)s{only} GROUP BY 1, 2
) AS c LEFT JOIN (
    SELECT service_id, minute, {object}(key, n) AS histogram FROM (
        SELECT f.service_id, {buckets}.minute, h.key, SUM({value}) AS n
        FROM {buckets} JOIN {functions} f ON f.id = {buckets}.function_id, {each} AS h
        WHERE {buckets}.minute >= %(start)s AND {buckets}.minute < %(end)s{only} GROUP BY 1, 2, 3
    ) AS e GROUP BY 1, 2
) AS h ON h.service_id = c.service_id AND h.minute = c.minute
WHERE true
ON CONFLICT (service_id, minute) DO UPDATE SET {replaced}
"""
# One hour of every (or one) service's minutes into its hourly row.
FOLD_HOUR = """
INSERT INTO {hours} (service_id, hour, {columns})
SELECT c.service_id, %(start)s, {counted}, COALESCE(h.histogram, '{{}}')
FROM (
    SELECT service_id, {sums} FROM {minutes}
    WHERE minute >= %(start)s AND minute < %(end)s{only} GROUP BY 1
) AS c LEFT JOIN (
    SELECT service_id, {object}(key, n) AS histogram FROM (
        SELECT service_id, h.key, SUM({value}) AS n FROM {minutes}, {each} AS h
        WHERE minute >= %(start)s AND minute < %(end)s{only} GROUP BY 1, 2
    ) AS e GROUP BY 1
) AS h ON h.service_id = c.service_id
WHERE true
ON CONFLICT (service_id, hour) DO UPDATE SET {replaced}
"""


def statement(sql: str, only: str = "") -> str:
    engine = writer()
    minutes, buckets = ServiceMinute._meta.db_table, CallBucket._meta.db_table
    source = buckets if sql is FOLD_MINUTES else minutes
    return sql.format(
        minutes=minutes,
        hours=ServiceHour._meta.db_table,
        buckets=buckets,
        functions=Function._meta.db_table,
        columns=", ".join(COLUMNS),
        counted=", ".join(f"c.{name}" for name in COLUMNS[:-1]),
        sums=SUMS,
        only=only,
        object=engine.histogram_object,
        value=engine.histogram_value,
        each=engine.each(source),
        replaced=", ".join(f"{name} = excluded.{name}" for name in COLUMNS),
    )


def run(sql: str, start: datetime, end: datetime, **more: object) -> int:
    adapt = connection.ops.adapt_datetimefield_value
    params = {"start": adapt(start), "end": adapt(end)}
    params.update({name: adapt(value) if isinstance(value, datetime) else value for name, value in more.items()})
    with writer().without_jit(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def settled(now: datetime) -> datetime:
    """Minutes before this are folded."""
    return floor(now, MINUTE) - SETTLE


def earliest(now: datetime) -> datetime:
    """The oldest minute the fold may start from: retention rolls older minute buckets into
    hours (the hour after the cutoff, so a retention run under way cannot take it either)."""
    return minute_cutoff(now) + HOUR


def start_mark(now: datetime) -> None:
    """The first fold starts at the oldest minute bucket's hour still in reach."""
    oldest = CallBucket.objects.order_by("minute").values_list("minute", flat=True).first()
    start = max(floor(oldest or settled(now), HOUR), earliest(now))
    RollupMark.objects.get_or_create(pk=1, defaults={"since": start, "through": start})


def fold(now: datetime | None = None) -> int:
    """Fold the late minutes again, then the settled minutes past the mark, an hour per
    transaction; returns how many service-minutes were written."""
    now = now or timezone.now()
    start_mark(now)
    written = fold_late()
    while (more := fold_once(now)) is not None:
        written += more
    return written


def fold_once(now: datetime) -> int | None:
    """Fold up to the end of the mark's hour: the rows written, or None when nothing was left."""
    with transaction.atomic():
        mark = RollupMark.objects.select_for_update().get(pk=1)
        if mark.through < earliest(now):  # the fold stood still past retention: start afresh
            mark.since = mark.through = earliest(now)
        end = min(settled(now), floor(mark.through, HOUR) + HOUR)
        if end <= mark.through:
            mark.save(update_fields=["since", "through"])
            return None
        written = run(statement(FOLD_MINUTES), mark.through, end)
        if end == floor(end, HOUR):
            run(statement(FOLD_HOUR), end - HOUR, end)
        mark.through = end
        mark.save(update_fields=["since", "through"])
    return written


def fold_late() -> int:
    """Fold again the minutes late batches wrote into, a chunk per transaction."""
    written = 0
    while True:
        with transaction.atomic():
            mark = RollupMark.objects.select_for_update().get(pk=1)
            rows = list(LateMinute.objects.order_by("id").values_list("id", "service_id", "minute")[:MOST_LATE])
            if not rows:
                return written
            by_service: dict[int, set[datetime]] = defaultdict(set)
            for _, service_id, minute in rows:
                if mark.since <= minute < mark.through:  # others are read raw, or folded in turn
                    by_service[service_id].add(minute)
            for service_id, minutes in by_service.items():
                written += fold_again(service_id, minutes, mark.through)
            # By id: a row a batch adds meanwhile stays for the next fold.
            LateMinute.objects.filter(id__in=[row[0] for row in rows]).delete()


def fold_again(service_id: int, minutes: set[datetime], through: datetime) -> int:
    names = [f"m{i}" for i in range(len(minutes))]
    marks = ", ".join(f"%({name})s" for name in names)
    only = f" AND f.service_id = %(service)s AND {CallBucket._meta.db_table}.minute IN ({marks})"
    values = dict(zip(names, sorted(minutes), strict=True))
    written = run(statement(FOLD_MINUTES, only), min(minutes), max(minutes) + MINUTE, service=service_id, **values)
    for hour in sorted({floor(minute, HOUR) for minute in minutes}):
        if hour + HOUR <= through:  # a whole hour folded already: its row again
            run(statement(FOLD_HOUR, " AND service_id = %(service)s"), hour, hour + HOUR, service=service_id)
    return written


def forget_old(now: datetime | None = None) -> int:
    """Service minutes as old as the minute buckets retention rolls up (their hours stay), and
    hours as old as the function hours retention forgets; returns the rows deleted."""
    now = now or timezone.now()
    minutes, _ = ServiceMinute.objects.filter(minute__lt=minute_cutoff(now)).delete()
    hour_cutoff = now - timedelta(days=settings.MONITOR_HOURLY_RETENTION_DAYS)
    hours, _ = ServiceHour.objects.filter(hour__lt=hour_cutoff).delete()
    return minutes + hours


def late_minutes(minutes: Iterable[tuple[int, datetime]], now: datetime | None = None) -> set[datetime]:
    """The minutes of a batch's (function, minute) rows old enough that the fold may have passed them."""
    before = floor(now or timezone.now(), MINUTE) - LATE
    return {minute for _, minute in minutes if minute < before}


def note_late(service_id: int, minutes: Iterable[tuple[int, datetime]]) -> None:
    """Record the batch's late minutes, in its transaction, for the fold to fold again."""
    if late := late_minutes(minutes):
        LateMinute.objects.bulk_create([LateMinute(service_id=service_id, minute=minute) for minute in sorted(late)])


@dataclass(frozen=True)
class Rolled:
    """What the roll-ups hold for a reader: the minutes [since, through), but the late ones."""

    since: datetime
    through: datetime
    late: tuple[datetime, ...]


def rolled(service_id: int | None, now: datetime) -> Rolled | None:
    """The roll-ups as a trend of one service (or, None, of the fleet) may read them; None when
    there are none, or when the fold stood still past the minute buckets' retention."""
    mark = RollupMark.objects.filter(pk=1).first()
    if mark is None or mark.through < minute_cutoff(now) or mark.through <= mark.since:
        return None
    late = LateMinute.objects.filter(minute__gte=mark.since, minute__lt=mark.through)
    if service_id is not None:
        late = late.filter(service_id=service_id)
    return Rolled(mark.since, mark.through, tuple(sorted(set(late.values_list("minute", flat=True)))))
