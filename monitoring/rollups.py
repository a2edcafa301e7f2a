"""Each service's calls added up per minute and per hour, so a service's or the fleet's trend
reads a few rows per step instead of every function's minute buckets.

- `fold()` (a periodic job, every minute) adds up the minute buckets of settled minutes
  (older than SETTLE) per service into ServiceMinute, in one SQL statement, those per minute
  into FleetMinute (the fleet's trend reads one row per step), and each hour it completes
  into ServiceHour and FleetHour, and each function's minute buckets of that hour into
  FunctionHour (what long SLO windows read); RollupMark says which minutes [since, through)
  are folded.
  Each row is written whole (a re-fold replaces it), so folding a minute again is harmless.
- Late calls: ingest takes calls up to 24 h old. A batch holding a call older than LATE
  (less than SETTLE, so a batch still being written when the fold passes its minute is
  caught too) records its (service, minute) in LateMinute; the fold folds those again and
  forgets them. Only such batches pay for it; a steady reporter's batches write nothing more.
- Readers (`trends.py`) use the roll-ups for [since, through) and the minute buckets for the
  rest of a range and for the minutes LateMinute lists: the answer does not depend on
  whether the fold has run.

Where the roll-ups and the buckets differ: a function deleted after its minutes were folded
still counts in its service's and the fleet's roll-ups (its own buckets are gone with it),
a deleted service in the fleet's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .models import (
    CallBucket,
    FleetHour,
    FleetMinute,
    Function,
    FunctionHour,
    LateMinute,
    RollupMark,
    ServiceHour,
    ServiceMinute,
    new_version,
)
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
# Rows of one table in [start, end) added up per group into another: the counts summed, the
# histograms merged key by key and made one object again; each row written whole. WHERE true:
# without it SQLite would read ON CONFLICT as part of the SELECT's join.
ROLL = """
INSERT INTO {target} ({keys}, {columns})
SELECT {values}, {counted}, COALESCE(h.histogram, '{{}}')
FROM (
    SELECT {groups}, {sums} FROM {source}{join}
    WHERE {source}.{time} >= %(start)s AND {source}.{time} < %(end)s{only} GROUP BY {positions}
) AS c LEFT JOIN (
    SELECT {names}, {object}(key, n) AS histogram FROM (
        SELECT {groups}, h.key, SUM({value}) AS n FROM {source}{join}, {each} AS h
        WHERE {source}.{time} >= %(start)s AND {source}.{time} < %(end)s{only} GROUP BY {positions}, h.key
    ) AS e GROUP BY {positions}
) AS h ON {on}
WHERE true
ON CONFLICT ({keys}) DO UPDATE SET {replaced}
"""


@dataclass(frozen=True)
class Roll:
    """One level of roll-up: which rows of source add up into which row of target."""

    target: type
    source: type
    time: str  # the source's time column
    groups: tuple[tuple[str, str], ...]  # (expression, name) the source's rows are grouped by
    values: tuple[str, ...]  # the target's key values, from c (the groups) or the parameters
    keys: tuple[str, ...]  # the target's unique key
    join: str = ""

    def sql(self, only: str = "") -> str:
        engine = writer()
        source = self.source._meta.db_table
        names = [name for _, name in self.groups]
        return ROLL.format(
            target=self.target._meta.db_table,
            keys=", ".join(self.keys),
            columns=", ".join(COLUMNS),
            values=", ".join(self.values),
            counted=", ".join(f"c.{name}" for name in COLUMNS[:-1]),
            groups=", ".join(f"{expression} AS {name}" for expression, name in self.groups),
            names=", ".join(names),
            positions=", ".join(str(i + 1) for i in range(len(names))),
            on=" AND ".join(f"h.{name} = c.{name}" for name in names),
            sums=SUMS,
            source=source,
            join=self.join.format(source=source, functions=Function._meta.db_table),
            time=self.time,
            only=only,
            object=engine.histogram_object,
            value=engine.histogram_value,
            each=engine.each(source),
            replaced=", ".join(f"{name} = excluded.{name}" for name in COLUMNS),
        )


SERVICE_MINUTES = Roll(
    ServiceMinute,
    CallBucket,
    "minute",
    (("f.service_id", "service_id"), (f"{CallBucket._meta.db_table}.minute", "minute")),
    ("c.service_id", "c.minute"),
    ("service_id", "minute"),
    join=" JOIN {functions} f ON f.id = {source}.function_id",
)
SERVICE_HOUR = Roll(
    ServiceHour,
    ServiceMinute,
    "minute",
    (("service_id", "service_id"),),
    ("c.service_id", "%(start)s"),
    ("service_id", "hour"),
)
FLEET_MINUTES = Roll(FleetMinute, ServiceMinute, "minute", (("minute", "minute"),), ("c.minute",), ("minute",))
# Each function's minute buckets of one hour; joined to the functions so that a late minute's
# hour is folded again for its service's functions only.
FUNCTION_HOUR = Roll(
    FunctionHour,
    CallBucket,
    "minute",
    ((f"{CallBucket._meta.db_table}.function_id", "function_id"),),
    ("c.function_id", "%(start)s"),
    ("function_id", "hour"),
    join=" JOIN {functions} f ON f.id = {source}.function_id",
)
# Grouped by a constant: one row when the hour has calls, none when it has not.
FLEET_HOUR = Roll(FleetHour, FleetMinute, "minute", (("1", "one"),), ("%(start)s",), ("hour",))


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
    RollupMark.objects.get_or_create(pk=1, defaults={"since": start, "through": start, "hours_since": start})


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
        if mark.hours_since is None:  # a mark written before function hours: they start now
            mark.hours_since = floor(mark.through, HOUR)
        end = min(settled(now), floor(mark.through, HOUR) + HOUR)
        if end <= mark.through:
            mark.save(update_fields=["since", "through", "hours_since"])
            return None
        written = run(SERVICE_MINUTES.sql(), mark.through, end)
        run(FLEET_MINUTES.sql(), mark.through, end)
        if end == floor(end, HOUR):
            run(SERVICE_HOUR.sql(), end - HOUR, end)
            run(FLEET_HOUR.sql(), end - HOUR, end)
            # A new hour after the others: no hour written before changes, so the version stays
            # (a reader keeping the hours' sums adds this one; see function_hours).
            run(FUNCTION_HOUR.sql(), end - HOUR, end)
        mark.through = end
        mark.save(update_fields=["since", "through", "hours_since"])
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
            if any(whole(minutes, mark.through) for minutes in by_service.values()):
                # Function hours written again: only then (late calls into the hour under way
                # change none), so what readers keep of the others stays good.
                mark.hours_version = new_version()
            # Late minutes no longer listed: what readers keep of settled minutes is renewed.
            mark.minutes_version = new_version()
            mark.save(update_fields=["hours_version", "minutes_version"])
            fold_fleet_again(set().union(*by_service.values()), mark.through)
            # By id: a row a batch adds meanwhile stays for the next fold.
            LateMinute.objects.filter(id__in=[row[0] for row in rows]).delete()


def among(column: str, minutes: set[datetime]) -> tuple[str, dict]:
    """AND column IN (the minutes), with its parameters."""
    values = {f"m{i}": minute for i, minute in enumerate(sorted(minutes))}
    return f" AND {column} IN ({', '.join(f'%({name})s' for name in values)})", values


def whole(minutes: set[datetime], through: datetime) -> list[datetime]:
    """The hours of these minutes folded whole already: their rows are written again."""
    return [hour for hour in sorted({floor(minute, HOUR) for minute in minutes}) if hour + HOUR <= through]


def fold_again(service_id: int, minutes: set[datetime], through: datetime) -> int:
    only, values = among(f"{CallBucket._meta.db_table}.minute", minutes)
    first, last = min(minutes), max(minutes) + MINUTE
    written = run(
        SERVICE_MINUTES.sql(" AND f.service_id = %(service)s" + only), first, last, service=service_id, **values
    )
    for hour in whole(minutes, through):
        run(SERVICE_HOUR.sql(" AND service_id = %(service)s"), hour, hour + HOUR, service=service_id)
        run(FUNCTION_HOUR.sql(" AND f.service_id = %(service)s"), hour, hour + HOUR, service=service_id)
    return written


def fold_fleet_again(minutes: set[datetime], through: datetime) -> None:
    if not minutes:
        return
    only, values = among("minute", minutes)
    run(FLEET_MINUTES.sql(only), min(minutes), max(minutes) + MINUTE, **values)
    for hour in whole(minutes, through):
        run(FLEET_HOUR.sql(), hour, hour + HOUR)


def forget_old(now: datetime | None = None) -> int:
    """Service minutes and function hours as old as the minute buckets retention rolls up
    (CallHour and ServiceHour keep those hours), and service and fleet hours as old as the
    function hours retention forgets; returns the rows deleted."""
    now = now or timezone.now()
    hour_cutoff = now - timedelta(days=settings.MONITOR_HOURLY_RETENTION_DAYS)
    deleted = 0
    for minutes in (ServiceMinute, FleetMinute):
        deleted += minutes.objects.filter(minute__lt=minute_cutoff(now)).delete()[0]
    deleted += FunctionHour.objects.filter(hour__lt=minute_cutoff(now)).delete()[0]
    for hours in (ServiceHour, FleetHour):
        deleted += hours.objects.filter(hour__lt=hour_cutoff).delete()[0]
    return deleted


def late_minutes(minutes: Iterable[tuple[int, datetime]], now: datetime | None = None) -> set[datetime]:
    """The minutes of a batch's (function, minute) rows old enough that the fold may have passed them."""
    before = floor(now or timezone.now(), MINUTE) - LATE
    # Each distinct minute compared once: a batch's rows share a few (and comparing times
    # of two time zone objects costs a call to each one's offset).
    return {minute for minute in {minute for _, minute in minutes} if minute < before}


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
    # RollupMark.hours_version when read: renewed when the fold writes whole hours again (late
    # calls), not when it adds the next hour, so that [since, through) and the version say which
    # rows a reader keeping their sums holds.
    version: int = 0
    # function_hours only: the fold's minute mark (minutes before it are settled), its
    # minutes_version, and every late minute listed before the mark.
    settled: datetime | None = None
    minutes_version: int = 0
    listed: tuple[datetime, ...] = ()


def rolled(service_ids: tuple[int, ...] | None, now: datetime) -> Rolled | None:
    """The roll-ups as a trend of some services (or, None, of the fleet) may read them; None when
    there are none, or when the fold stood still past the minute buckets' retention."""
    mark = RollupMark.objects.filter(pk=1).first()
    if mark is None or mark.through < minute_cutoff(now) or mark.through <= mark.since:
        return None
    late = LateMinute.objects.filter(minute__gte=mark.since, minute__lt=mark.through)
    if service_ids is not None:
        late = late.filter(service_id__in=service_ids)
    return Rolled(mark.since, mark.through, tuple(sorted(set(late.values_list("minute", flat=True)))))


def function_hours(now: datetime) -> Rolled | None:
    """The whole hours FunctionHour holds for every function, [since, through), and the late
    minutes whose hours it does not hold yet; None when there are none."""
    # The late minutes before the mark: a fold taking them between the two reads renews the
    # versions read after (fold_late), so a reader keeping sums sees one or the other.
    listed = set(LateMinute.objects.filter(minute__gte=minute_cutoff(now)).values_list("minute", flat=True))
    mark = RollupMark.objects.filter(pk=1).first()
    if mark is None or mark.through < minute_cutoff(now):
        return None
    since = max(mark.since, mark.hours_since or mark.through, earliest(now))
    through = floor(mark.through, HOUR)
    if through <= since:
        return None
    late = tuple(sorted(minute for minute in listed if since <= minute < through))
    before = tuple(sorted(minute for minute in listed if minute < mark.through))
    return Rolled(since, through, late, mark.hours_version, mark.through, mark.minutes_version, before)
