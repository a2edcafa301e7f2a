"""Trends: how a set of functions (one, a service's, the whole fleet) did over a range, and
over the same range a week earlier.

Figures, all summed by the database (GROUP BY), whatever the number of functions:
- calls, and the error rate: (failures + timeouts + rejections) / calls;
- p95 from the range's histograms merged into one (within 5 %, as every percentile here);
- availability: the share of the range's steps with calls whose error rate stayed under
  MONITOR_HEALTH_DEGRADED_ERROR_RATE, a time-based figure like an uptime (docs/health.md).

Like series.py, minute buckets are read up to their retention and hourly roll-ups before it:
a window that reaches past the minute buckets is read by the hour. A service's or the fleet's
trend reads the roll-ups (rollups.py, a service's or the fleet's) for the minutes folded, and
every function's rows only for the rest (the last minutes, late calls, before the roll-ups
began): the same figures, from a few rows per step.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import orjson
from django.conf import settings
from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from . import histogram, rollups
from .models import CallBucket, CallHour, FleetHour, FleetMinute, Function, Service, ServiceHour, ServiceMinute
from .projects import User, scoped, sees_whole_fleet
from .ranges import EPOCH, HOUR, Window, floor, minute_cutoff
from .series import point
from .writers import SUMMED, writer

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Scope:
    """Which functions a trend adds up: one, a service's, some services' (the fleet a person
    sees: their projects'), or (none given) the whole fleet."""

    function_id: int | None = None
    service_id: int | None = None
    service_ids: tuple[int, ...] | None = None

    def services(self) -> tuple[int, ...] | None:
        return (self.service_id,) if self.service_id is not None else self.service_ids

    def where(self) -> tuple[str, list]:
        if self.function_id is not None:
            return " AND function_id = %s", [self.function_id]
        ids = self.services()
        if ids is not None:
            functions = Function._meta.db_table
            return f" AND function_id IN (SELECT id FROM {functions} WHERE service_id IN ({marks(ids)}))", list(ids)
        return "", []

    def rolled_where(self) -> tuple[str, list]:
        """The same scope in the roll-ups (the fleet's have nothing to pick)."""
        ids = self.services()
        return (f" AND service_id IN ({marks(ids)})", list(ids)) if ids is not None else ("", [])

    def rolled_tables(self) -> tuple[str, str]:
        """(by the minute, by the hour): the services' roll-ups, or the fleet's."""
        if self.services() is not None:
            return ServiceMinute._meta.db_table, ServiceHour._meta.db_table
        return FleetMinute._meta.db_table, FleetHour._meta.db_table

    def rolled(self, now: datetime) -> rollups.Rolled | None:
        """What the roll-ups hold for this scope; a single function reads its own rows."""
        return None if self.function_id is not None else rollups.rolled(self.services(), now)


def fleet_of(user: User | None) -> Scope:
    """The fleet a person sees: the whole fleet for the owner and for a person in every
    project (read from the fleet's own roll-ups: one row a step, not one per service), else
    their projects' services."""
    if sees_whole_fleet(user):
        return Scope()
    return Scope(service_ids=tuple(scoped(Service.objects.order_by("id"), user).values_list("id", flat=True)))


def marks(ids: tuple[int, ...]) -> str:
    """Placeholders for ids in SQL's IN (...); none match nothing."""
    return ", ".join(["%s"] * len(ids)) or "NULL"


@dataclass(frozen=True)
class Source:
    """Rows of one table to add up: its time column, and which rows (scope and time)."""

    table: str
    column: str
    where: str
    params: list
    rolled: bool = False  # a roll-up: few rows, each with a whole histogram


def spans(column: str, ranges: list[tuple[datetime, datetime]]) -> tuple[str, list]:
    """[start, end) ranges of a time column as one condition."""
    adapt = connection.ops.adapt_datetimefield_value
    sql = " OR ".join(f"({column} >= %s AND {column} < %s)" for _ in ranges)
    return f"({sql})", [adapt(moment) for bounds in ranges for moment in bounds]


def among(column: str, moments: tuple[datetime, ...], negate: bool = False) -> tuple[str, list]:
    adapt = connection.ops.adapt_datetimefield_value
    marks = ", ".join(["%s"] * len(moments))
    return f" AND {column} {'NOT IN' if negate else 'IN'} ({marks})", [adapt(moment) for moment in moments]


def raw(scope: Scope, window: Window, now: datetime, ranges: list[tuple[datetime, datetime]]) -> list[Source]:
    """The functions' own rows: minute buckets, and hourly roll-ups once the window is read by the hour."""
    where, scoped = scope.where()
    tables = [(CallBucket._meta.db_table, "minute")]
    if window.hourly or window.start < minute_cutoff(now):
        tables.append((CallHour._meta.db_table, "hour"))
    found = []
    for table, column in tables:
        timed, params = spans(column, ranges)
        found.append(Source(table, column, timed + where, params + scoped))
    return found


def whole_hours(start: datetime, end: datetime, late: tuple[datetime, ...]) -> list[datetime]:
    """The hours wholly inside [start, end) without a late minute."""
    first = floor(start, HOUR) if floor(start, HOUR) == start else floor(start, HOUR) + HOUR
    hours = [first + i * HOUR for i in range(max(0, int((floor(end, HOUR) - first) / HOUR)))]
    dirty = {floor(minute, HOUR) for minute in late}
    return [hour for hour in hours if hour not in dirty]


def joined(moments: list[datetime], step: timedelta) -> list[tuple[datetime, datetime]]:
    """Consecutive moments, step apart, as [start, end) ranges."""
    ranges: list[tuple[datetime, datetime]] = []
    for moment in moments:
        if ranges and ranges[-1][1] == moment:
            ranges[-1] = (ranges[-1][0], moment + step)
        else:
            ranges.append((moment, moment + step))
    return ranges


def minus(start: datetime, end: datetime, taken: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """[start, end) without the (sorted, inside) taken ranges."""
    left, at = [], start
    for first, last in taken:
        if first > at:
            left.append((at, first))
        at = last
    if at < end:
        left.append((at, end))
    return left


def plan(scope: Scope, window: Window, now: datetime, rolled: rollups.Rolled | None, hours: bool) -> list[Source]:
    """Where the window's calls are read: the services' roll-ups for the folded minutes (their
    hourly rows for whole hours when hours is allowed), the functions' rows for the rest and
    for the minutes late calls came into since the fold passed them."""
    lo = max(window.start, rolled.since) if rolled else window.end
    hi = min(window.end, rolled.through) if rolled else window.end
    if rolled is None or lo >= hi:
        return raw(scope, window, now, [(window.start, window.end)])
    late = tuple(minute for minute in rolled.late if lo <= minute < hi)
    outside = [(a, b) for a, b in ((window.start, lo), (hi, window.end)) if a < b]
    sources = raw(scope, window, now, outside) if outside else []
    if late:
        where, scoped = scope.where()
        marks, params = among("minute", late)
        sources.append(Source(CallBucket._meta.db_table, "minute", "1 = 1" + marks + where, params + scoped))
    where, scoped = scope.rolled_where()
    by_minute, by_hour = scope.rolled_tables()
    whole = joined(whole_hours(lo, hi, late), HOUR) if hours else []
    if whole:
        timed, params = spans("hour", whole)
        sources.append(Source(by_hour, "hour", timed + where, params + scoped, rolled=True))
    if parts := minus(lo, hi, whole):
        timed, params = spans("minute", parts)
        marks, excluded = among("minute", late, negate=True) if late else ("", [])
        sources.append(Source(by_minute, "minute", timed + marks + where, params + excluded + scoped, rolled=True))
    return sources


# Steps under an hour are grouped by the stored minute itself and put in steps here (at most
# 1,440 groups): far cheaper than computing each row's step in SQL (measured on PostgreSQL
# over 60,000 minute buckets: 15 ms grouped by minute, 56 ms by an epoch-seconds step).
# Longer steps are grouped by the database, so days of minutes come back as a few hundred rows.
STEP_COUNTS = """
SELECT {group}, SUM(success), SUM(failure), SUM(timeout), SUM(rejected), SUM(retries),
       SUM(latency_sum_ms), MAX(latency_max_ms)
FROM {table} WHERE {where} GROUP BY 1
"""
# The whole window's histogram, or (by_slot) one per step.
HISTOGRAMS = """
SELECT {keys}, SUM({value}) FROM {table}, {each} AS h WHERE {where} GROUP BY {keys}
"""


def readable(window: Window, now: datetime) -> Window:
    """The window as the stored rows can answer it: by the hour where minute buckets are gone."""
    if window.hourly or window.start >= minute_cutoff(now):
        return window
    end = floor(window.end, HOUR)
    return Window(floor(window.start, HOUR), end if end == window.end else end + HOUR, HOUR)


def step_counts(
    scope: Scope, window: Window, now: datetime, rolled: rollups.Rolled | None
) -> dict[datetime, CallBucket]:
    """Calls per step of the window (steps without calls left out), no histograms."""
    engine, step_s = writer(), int(window.step.total_seconds())
    sums: dict[datetime, list] = {}
    with connection.cursor() as cursor:
        for source in plan(scope, window, now, rolled, hours=window.hourly):
            group = engine.slot(source.column, step_s) if window.hourly else source.column
            cursor.execute(STEP_COUNTS.format(group=group, table=source.table, where=source.where), source.params)
            for key, *row in cursor.fetchall():
                slot = EPOCH + timedelta(seconds=int(key)) if window.hourly else window.slot(stored_time(key))
                found = sums.setdefault(slot, [0, 0, 0, 0, 0, 0.0, 0.0])
                for i, value in enumerate(row[:-1]):
                    found[i] += value
                found[-1] = max(found[-1], row[-1])
    return {slot: CallBucket(**dict(zip(SUMMED, found, strict=True))) for slot, found in sums.items()}


def stored_time(value: datetime | str) -> datetime:
    """A time column as the cursor gives it: aware on PostgreSQL, text or naive UTC on SQLite."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def histograms(
    scope: Scope, window: Window, now: datetime, rolled: rollups.Rolled | None, by_slot: bool = False
) -> dict:
    """The window's merged histogram {key: count}, or with by_slot {step start: {key: count}}."""
    found: dict = {}
    with connection.cursor() as cursor:
        # The whole window's histogram may come from hourly rows whatever the step.
        for source in plan(scope, window, now, rolled, hours=window.hourly or not by_slot):
            merge = merged_here if source.rolled else merged_by_database
            merge(cursor, source, window, by_slot, found)
    return found


def merged_by_database(cursor: CursorWrapper, source: Source, window: Window, by_slot: bool, found: dict) -> None:
    """Many rows of a few buckets each (minute buckets): the database adds them up by key."""
    engine, step_s = writer(), int(window.step.total_seconds())
    keys = f"{engine.slot(source.column, step_s)}, h.key" if by_slot else "h.key"
    sql = HISTOGRAMS.format(
        keys=keys, value=engine.histogram_value, table=source.table, each=engine.each(source.table), where=source.where
    )
    cursor.execute(sql, source.params)
    for *slot, key, count in cursor.fetchall():
        into = found.setdefault(EPOCH + timedelta(seconds=int(slot[0])), {}) if by_slot else found
        into[key] = into.get(key, 0) + int(count)


def merged_here(cursor: CursorWrapper, source: Source, window: Window, by_slot: bool, found: dict) -> None:
    """Few rows of a hundred buckets or so each (roll-ups): added up here, several times faster
    than the database expands them into (key, count) rows (measured on PostgreSQL: a service's
    day of minutes, 1,440 rows, 150 ms here against 1,100 ms grouped by step in SQL)."""
    cursor.execute(f"SELECT {source.column}, histogram FROM {source.table} WHERE {source.where}", source.params)
    for moment, stored in cursor.fetchall():
        into = found.setdefault(window.slot(stored_time(moment)), {}) if by_slot else found
        histogram.merge(into, orjson.loads(stored) if isinstance(stored, str | bytes) else stored)


def availability(steps: dict[datetime, CallBucket]) -> float | None:
    """The share of steps with calls whose error rate stayed under the degraded threshold."""
    counted = [counts for counts in steps.values() if counts.calls]
    if not counted:
        return None
    limit = settings.MONITOR_HEALTH_DEGRADED_ERROR_RATE
    return sum(1 for counts in counted if counts.errors / counts.calls < limit) / len(counted)


def figures(scope: Scope, window: Window, now: datetime, rolled: rollups.Rolled | None) -> dict:
    window = readable(window, now)
    steps = step_counts(scope, window, now, rolled)
    total = CallBucket()
    for counts in steps.values():
        total.add(counts)
    total.histogram = histograms(scope, window, now, rolled)
    return {
        "from": window.start,
        "to": window.end,
        "step_s": int(window.step.total_seconds()),
        "calls": total.calls,
        "errors": total.errors,
        "error_rate": total.errors / total.calls if total.calls else None,
        "p95_ms": total.percentile(0.95),
        "availability": availability(steps),
        "steps_with_calls": sum(1 for counts in steps.values() if counts.calls),
    }


def relative(now: float | None, before: float | None) -> float | None:
    """(now - before) / before: 0.12 reads "+12 %"; None when there is nothing to compare with."""
    if now is None or not before:
        return None
    return (now - before) / before


def difference(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else now - before


def trend(scope: Scope, window: Window, now: datetime | None = None) -> dict:
    """The scope's figures over the window, a week earlier, and how they changed."""
    now = now or timezone.now()
    rolled = scope.rolled(now)
    current = figures(scope, window, now, rolled)
    earlier = figures(scope, replace(window, start=window.start - WEEK, end=window.end - WEEK), now, rolled)
    return {
        **current,
        "week_ago": earlier,
        "change": {
            "calls": relative(current["calls"], earlier["calls"]),
            "error_rate": difference(current["error_rate"], earlier["error_rate"]),
            "p95_ms": relative(current["p95_ms"], earlier["p95_ms"]),
            "availability": difference(current["availability"], earlier["availability"]),
        },
    }


def series(scope: Scope, window: Window, now: datetime | None = None) -> tuple[list[dict], dict]:
    """The scope's calls per step, summed over its functions: one point per step, and the totals."""
    now = now or timezone.now()
    rolled = scope.rolled(now)
    steps = step_counts(scope, window, now, rolled)
    for slot, merged in histograms(scope, window, now, rolled, by_slot=True).items():
        steps.setdefault(slot, CallBucket()).histogram = merged
    total = CallBucket()
    for counts in steps.values():
        total.add(counts)
    points = [point(moment, steps.get(moment) or CallBucket()) for moment in window.slots()]
    return points, point(window.start, total)


def cards(trend: dict, label: str) -> dict:
    """What templates/monitoring/_trend_cards.html shows: the trend, its range in words, the limit."""
    return {"trend": trend, "label": label, "limit": settings.MONITOR_HEALTH_DEGRADED_ERROR_RATE}
