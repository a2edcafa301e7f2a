"""Every SLO's windows summed at once: what the SLO round reads (slo_counts.py reads one SLO).

The same counts as `slo_counts.window_counts` gives each SLO, read in a few statements for
all of them instead of one per SLO and table:

- the calls are summed per function (and, for latency objectives, per histogram bucket) with
  a conditional sum per window, then added up per SLO in Python: an SLO over a service adds
  its functions' sums, a latency SLO the buckets under its threshold;
- the whole hours the fold has added up (FunctionHour, monitoring/rollups.py) are read one
  row an hour instead of sixty minute buckets; the minute buckets only for the rest: the
  partial hour at each window's start, the hour under way, and the hours late calls came
  into since the fold passed them;
- past the minute buckets' retention, the hourly roll-ups (CallHour) as slo_counts reads them,
  for the SLOs whose windows reach back that far;
- what changes only when the fold moves or takes late minutes is kept between rounds (per
  process): the function hours' sums (hour_rows), the minutes of the hours long windows start
  in, and the settled minutes before the fold's minute mark (slo_minutes.py), so a steady
  round reads from the minute buckets only the minutes after the mark.

A window's calls are the minute buckets after `now - span`: a whole hour after that is in a
FunctionHour row, or in its minute buckets when late calls came into it, never both.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection

from monitoring import histogram, rollups
from monitoring.models import CallBucket, CallHour, Function, FunctionHour
from monitoring.ranges import HOUR, floor, minute_cutoff
from monitoring.writers import writer

from . import slo_minutes
from .burn import Counts
from .models import SLO, Objective
from .slo_counts import SUCCESS_SUMS, at

MINUTE = timedelta(minutes=1)
LAST = datetime.max.replace(tzinfo=UTC)  # a range open at its end
# Functions per statement.
CHUNK = 5000
# Per function and window: [good, total]; for a latency objective per histogram bucket: [calls].
Sums = dict[int, list[int]]
BucketSums = dict[int, dict[int, list[int]]]


@dataclass(frozen=True)
class Plan:
    """Where each window ending now is read: spans in order, and for each, the whole hours
    [start, end) read from FunctionHour (None: all from the minute buckets)."""

    now: datetime
    spans: tuple[timedelta, ...]
    hours: tuple[tuple[datetime, datetime] | None, ...]
    late: tuple[datetime, ...]  # hours read from the minute buckets although folded
    version: int = 0  # the function hours' version (RollupMark.hours_version)
    # Per span, the folded hour its start falls in when that hour's minutes are kept between
    # rounds (slo_minutes.py) rather than read (None).
    partial: tuple[datetime | None, ...] = ()
    # The fold's minute mark when the settled minutes before it, after the hours read whole,
    # are kept between rounds (slo_minutes.settled) rather than read (None); their version
    # (RollupMark.minutes_version) and the late minutes listed before the mark.
    settled: datetime | None = None
    minutes_version: int = 0
    listed: tuple[datetime, ...] = ()

    def late_sql(self, column: str) -> tuple[str, list]:
        if not self.late:
            return "1 = 0", []
        sql = " OR ".join(f"({column} >= %s AND {column} < %s)" for _ in self.late)
        return f"({sql})", [at(moment) for hour in self.late for moment in (hour, hour + HOUR)]

    def minute_conditions(self) -> list[tuple[str, list]]:
        """Per span, which minute buckets count: after its start, outside the hours read whole."""
        late, late_params = self.late_sql("minute")
        found = []
        for span, hours, partial in zip(self.spans, self.hours, self.partial, strict=True):
            sql, params = "minute > %s", [at(self.now - span)]
            if hours is not None and partial is None:
                sql += f" AND (minute < %s OR minute >= %s OR {late})"
                params += [at(hours[0]), at(self.after(hours)), *late_params]
            elif hours is not None:  # the minutes before hours[0] are kept
                sql += f" AND (minute >= %s OR {late})"
                params += [at(self.after(hours)), *late_params]
            elif self.settled is not None:  # the settled minutes are kept
                sql += " AND minute >= %s"
                params += [at(self.settled)]
            found.append((sql, params))
        return found

    def after(self, hours: tuple[datetime, datetime] | None) -> datetime:
        """Where a span's minute buckets after its whole hours are read from."""
        return self.settled or (hours[1] if hours else self.now)

    def kept_since(self, span: timedelta, hours: tuple[datetime, datetime] | None) -> datetime:
        """The moment after which a span counts the settled minutes kept (those before the mark)."""
        return max(self.now - span, hours[1] - MINUTE) if hours else self.now - span

    def minute_ranges(self) -> list[tuple[str, list]]:
        """The minute buckets any span reads, as a few disjoint ranges (each read through the
        index on function and minute, not the whole of the longest window)."""
        ranges: list[tuple[datetime, datetime]] = []
        for span, hours, partial in zip(self.spans, self.hours, self.partial, strict=True):
            start = self.now - span
            if hours is None:
                ranges.append((max(start, self.settled - MINUTE) if self.settled else start, LAST))
                continue
            last = (self.after(hours) - MINUTE, LAST)
            ranges += [last] if partial else [(start, hours[0]), last]
            ranges += [(hour - MINUTE, hour + HOUR) for hour in self.late if hour + HOUR > start]
        # (after, before) exclusive: one that begins before another ends overlaps or adjoins it.
        merged: list[tuple[datetime, datetime]] = []
        for after, before in sorted(ranges):
            if merged and after < merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], before))
            else:
                merged.append((after, before))
        return [
            ("minute > %s", [at(after)]) if before == LAST else ("minute > %s AND minute < %s", [at(after), at(before)])
            for after, before in merged
        ]


def plan(spans: list[timedelta], now: datetime) -> Plan:
    spans = sorted(set(spans))
    folded = rollups.function_hours(now)
    hours: list[tuple[datetime, datetime] | None] = []
    for span in spans:
        if folded is None:
            hours.append(None)
            continue
        # The first hour wholly after now - span.
        start = max(floor(now - span, HOUR) + HOUR, folded.since)
        hours.append((start, folded.through) if start < folded.through else None)
    late = tuple(sorted({floor(minute, HOUR) for minute in folded.late})) if folded else ()
    partial = []
    listed = {floor(minute, HOUR) for minute in folded.listed} if folded else set()
    for span, whole in zip(spans, hours, strict=True):
        # Kept: a start inside a settled hour just before the function hours, its minute buckets
        # all there (not before the retention's cutoff: the hour a window as long as the
        # retention starts in is, though the function hours start after it), no late minute
        # listed in it.
        hour = floor(now - span, HOUR)
        kept = folded is not None and whole is not None and whole[0] == hour + HOUR and hour >= minute_cutoff(now)
        partial.append(hour if kept and hour not in listed else None)
    if folded is None:
        return Plan(now, tuple(spans), tuple(hours), late, 0, tuple(partial))
    return Plan(
        now,
        tuple(spans),
        tuple(hours),
        late,
        folded.version,
        tuple(partial),
        folded.settled,
        folded.minutes_version,
        folded.listed,
    )


def chunks(ids: set[int]) -> list[list[int]]:
    ordered = sorted(ids)
    return [ordered[i : i + CHUNK] for i in range(0, len(ordered), CHUNK)]


def run(sql: str, params: list) -> list[tuple]:
    with writer().without_jit(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def columns(conditions: list[tuple[str, list]], expressions: tuple[str, ...]) -> tuple[str, list]:
    sql = ", ".join(
        f"SUM(CASE WHEN {condition} THEN {expression} ELSE 0 END)"
        for condition, _ in conditions
        for expression in expressions
    )
    return sql, [param for _, params in conditions for _ in expressions for param in params]


def read(
    table: str,
    conditions: list[tuple[str, list]],
    ranges: list[tuple[str, list]],
    ids: set[int],
    expressions: tuple[str, ...],
    each: str = "",
) -> list[tuple]:
    """Per function (and bucket, with `each`), the conditional sums over the rows in the
    (disjoint) ranges; rows: (id, [key,] sums...). A range each, added together: PostgreSQL
    reads each through the index where, ORed in one WHERE, it may scan the whole table."""
    if not conditions:
        return []
    sums, params = columns(conditions, expressions)
    group = "function_id, h.key" if each else "function_id"
    rows = []
    for chunk in chunks(ids):
        # Ids written out (integers read from the database): thousands of placeholders cost
        # the driver more to parse than the values do.
        listed = ", ".join(str(int(function_id)) for function_id in chunk)
        rows_in = " UNION ALL ".join(
            f"SELECT * FROM {table} WHERE function_id IN ({listed}) AND {where}" for where, _ in ranges
        )
        sql = f"SELECT {group}, {sums} FROM ({rows_in}) AS {table}{each} GROUP BY {group}"
        rows += run(sql, [*params, *(p for _, where in ranges for p in where)])
    return rows


def hour_conditions(found: Plan) -> tuple[list[tuple[str, list]], list[tuple[str, list]]]:
    """FunctionHour: per span, its whole hours; the rows read are the longest span's, less the late hours."""
    conditions = [("hour >= %s", [at(h[0])]) if h else ("1 = 0", []) for h in found.hours]
    # The longest span reads the most hours: when any span reads hours, it does.
    start, end = found.hours[-1] or (found.now, found.now)
    late, params = found.late_sql("hour")
    return conditions, [(f"hour >= %s AND hour < %s AND NOT {late}", [at(start), at(end), *params])]


def old_hour_conditions(found: Plan) -> tuple[list[tuple[str, list]], list[tuple[str, list]]]:
    """CallHour, as slo_counts reads it: the hours that overlap each window."""
    starts = [found.now - span - HOUR + MINUTE for span in found.spans]
    return [("hour > %s", [at(start)]) for start in starts], [("hour > %s", [at(min(starts))])]


@dataclass
class Totals:
    """What was read, per function: success sums and latency bucket sums, by table part."""

    success: Sums
    buckets: BucketSums
    old_success: Sums  # from CallHour, past the minute buckets' retention
    old_buckets: BucketSums


def add_rows(rows: list[tuple], into: Sums) -> None:
    for function_id, *sums in rows:
        found = into.setdefault(function_id, [0] * len(sums))
        for i, value in enumerate(sums):
            found[i] += int(value or 0)


def add_bucket_rows(rows: list[tuple], into: BucketSums) -> None:
    for function_id, bucket, *sums in rows:
        found = into.setdefault(function_id, {}).setdefault(int(bucket), [0] * len(sums))
        for i, value in enumerate(sums):
            found[i] += int(value or 0)


def read_all(found: Plan, success_ids: set[int], latency_ids: set[int], old_ids: set[int]) -> Totals:
    engine = writer()
    totals = Totals({}, {}, {}, {})
    latency_sums = (engine.histogram_value,)
    minute_ranges = found.minute_ranges()
    minutes = found.minute_conditions()
    bucket_table = CallBucket._meta.db_table
    add_rows(read(bucket_table, minutes, minute_ranges, success_ids, SUCCESS_SUMS), totals.success)
    each = f", {engine.each(bucket_table)} AS h"
    add_bucket_rows(read(bucket_table, minutes, minute_ranges, latency_ids, latency_sums, each), totals.buckets)
    if any(found.hours):
        kept = hour_rows(found, success_ids, latency_ids)
        add_sums(kept.success, totals.success)
        add_bucket_sums(kept.buckets, totals.buckets)
    if old_ids:
        old_table = CallHour._meta.db_table
        conditions, where = old_hour_conditions(found)
        add_rows(read(old_table, conditions, where, old_ids & success_ids, SUCCESS_SUMS), totals.old_success)
        each = f", {engine.each(old_table)} AS h"
        add_bucket_rows(
            read(old_table, conditions, where, old_ids & latency_ids, latency_sums, each), totals.old_buckets
        )
    return totals


def add_sums(sums: Sums, into: Sums) -> None:
    for function_id, values in sums.items():
        found = into.setdefault(function_id, [0] * len(values))
        for i, value in enumerate(values):
            found[i] += value


def add_bucket_sums(sums: BucketSums, into: BucketSums) -> None:
    for function_id, buckets in sums.items():
        add_sums(buckets, into.setdefault(function_id, {}))


def read_hours(
    conditions: list[tuple[str, list]], where: list[tuple[str, list]], success_ids: set[int], latency_ids: set[int]
) -> tuple[Sums, BucketSums]:
    """FunctionHour summed per function (and bucket) under each condition, over the rows in `where`."""
    success: Sums = {}
    buckets: BucketSums = {}
    if where:
        table = FunctionHour._meta.db_table
        add_rows(read(table, conditions, where, success_ids, SUCCESS_SUMS), success)
        each = f", {writer().each(table)} AS h"
        add_bucket_rows(read(table, conditions, where, latency_ids, (writer().histogram_value,), each), buckets)
    return success, buckets


def split(success: Sums, buckets: BucketSums, hours: list[datetime], offset: int = 0) -> dict[datetime, HourRows]:
    """Each hour's rows, from sums read with a condition per hour (after `offset` others), in
    one pass; an hour's function or bucket with no calls left out."""
    found: dict[datetime, HourRows] = {hour: ({}, {}) for hour in hours}
    parts = [(found[hour], offset + i) for i, hour in enumerate(hours)]
    for function_id, sums in success.items():
        for (rows, _), i in parts:
            if sums[2 * i + 1]:
                rows[function_id] = sums[2 * i : 2 * i + 2]
    for function_id, by_bucket in buckets.items():
        for bucket, sums in by_bucket.items():
            for (_, rows), i in parts:
                if sums[i]:
                    rows.setdefault(function_id, {})[bucket] = [sums[i]]
    return found


def hours_in(start: datetime, end: datetime) -> list[datetime]:
    return [start + i * HOUR for i in range(max(0, int((end - start) / HOUR)))]


# Per span: its whole hours [start, end) read from FunctionHour, or None.
Spans = tuple[tuple[datetime, datetime] | None, ...]
# One hour's rows: per function [good, total]; per function and bucket [calls].
HourRows = tuple[Sums, BucketSums]


@dataclass
class HourSums:
    """The function hours' sums of each span's whole hours, kept between rounds (per process)
    with what they were read for: `key` (the spans, the late hours left out, the hours' version,
    the functions) and each span's hours. The hours already written change only when the fold
    writes them again (late calls), which gives them a new version: then, or after a restart,
    all are read. Otherwise a round reads only the hours the fold added since (the version
    stays: appending an hour touches no other) and takes off the first hour a window left, from
    the rows of each span's first hour, kept for that (read when it became the first)."""

    key: tuple
    hours: Spans
    success: Sums  # per function: good, total per span
    buckets: BucketSums  # per function and bucket: calls per span
    first: dict[datetime, HourRows]  # the rows of each span's first hour
    updates: int = 0  # rounds brought up to date since read whole
    # The rows of the hours after those, read ahead in the hour (they are first from its turn).
    upcoming: dict[datetime, HourRows] = field(default_factory=dict)

    @classmethod
    def read(cls, key: tuple, found: Plan, success_ids: set[int], latency_ids: set[int]) -> HourSums:
        conditions, where = hour_conditions(found)
        firsts = sorted({hours[0] for hours in found.hours if hours})
        spans = len(found.spans)
        success, buckets = read_hours(
            conditions + [("hour = %s", [at(hour)]) for hour in firsts], where, success_ids, latency_ids
        )
        first = split(success, buckets, firsts, spans)
        width = 2 * spans
        success = {function_id: sums[:width] for function_id, sums in success.items()}
        buckets = {
            function_id: {bucket: sums[:spans] for bucket, sums in by_bucket.items()}
            for function_id, by_bucket in buckets.items()
        }
        return cls(key, found.hours, success, buckets, first)

    def follows(self, hours: Spans) -> bool:
        """Whether these spans' hours can be reached from those kept: each start the same or an
        hour on (that hour's rows kept), each end the same or later."""
        for old, new in zip(self.hours, hours, strict=True):
            if old is None or new is None:
                if old != new:
                    return False
            elif new[1] < old[1] or new[0] not in (old[0], old[0] + HOUR) or new[0] >= old[1]:
                return False
            elif new[0] != old[0] and old[0] not in self.first:
                return False
        return True

    def update(self, found: Plan, success_ids: set[int], latency_ids: set[int]) -> None:
        """Brought to the plan's hours: the hours added at the ends read and added, the first
        hours that left taken off; the new first hours' rows read to be kept."""
        pairs = [(i, old, new) for i, (old, new) in enumerate(zip(self.hours, found.hours, strict=True)) if new]
        added = {hour for _, old, new in pairs for hour in hours_in(old[1], new[1])}
        firsts = {new[0] for _, _, new in pairs}
        wanted = sorted(added | (firsts - set(self.first) - set(self.upcoming)))
        rows = rows_of_hours(wanted, found, success_ids, latency_ids)
        for i, old, new in pairs:
            if new[0] != old[0]:
                self.add(i, self.first[old[0]], -1)
            for hour in hours_in(old[1], new[1]):
                self.add(i, rows[hour], 1)
        known = {**rows, **self.upcoming, **self.first}
        self.first = {hour: known[hour] for hour in firsts}
        self.upcoming = {}
        self.hours = found.hours
        self.updates += 1

    def read_ahead(self, found: Plan, success_ids: set[int], latency_ids: set[int]) -> None:
        """The rows of the hours each span's start moves to when the hour turns, read once in the
        hour (from slo_minutes.AHEAD_FROM into it), so that the round after the turn reads only
        the hour the fold adds."""
        if found.now - floor(found.now, HOUR) < slo_minutes.AHEAD_FROM:
            return
        wanted = {hours[0] + HOUR for hours in found.hours if hours and hours[0] + HOUR < hours[1]}
        wanted = sorted(wanted - set(self.first) - set(self.upcoming))
        if not wanted:
            return
        self.upcoming.update(rows_of_hours(wanted, found, success_ids, latency_ids))

    def add(self, span: int, rows: HourRows, sign: int) -> None:
        """One hour's rows added to (or, sign -1, taken off) a span's sums."""
        width = len(self.hours)
        success, buckets = rows
        for function_id, (good, total) in success.items():
            sums = self.success.setdefault(function_id, [0] * 2 * width)
            sums[2 * span] += sign * good
            sums[2 * span + 1] += sign * total
        for function_id, by_bucket in buckets.items():
            kept = self.buckets.setdefault(function_id, {})
            for bucket, (calls,) in by_bucket.items():
                kept.setdefault(bucket, [0] * width)[span] += sign * calls


def rows_of_hours(
    wanted: list[datetime], found: Plan, success_ids: set[int], latency_ids: set[int]
) -> dict[datetime, HourRows]:
    """Each wanted hour's function-hour rows, split by hour; a late hour's left out (its calls
    are read from its minutes)."""
    late = set(found.late)
    success, buckets = read_hours(
        [("hour = %s", [at(hour)]) for hour in wanted],
        [("hour = %s", [at(hour)]) for hour in wanted if hour not in late],
        success_ids,
        latency_ids,
    )
    return split(success, buckets, wanted)


# This process's function hours' sums (none: as after a restart).
KEPT: list[HourSums] = []


def hour_rows(found: Plan, success_ids: set[int], latency_ids: set[int]) -> HourSums:
    """The function hours' sums per span, kept between rounds (HourSums): read whole after a
    restart or when the fold wrote hours again (a new version: late calls came into them), else
    brought up to date with the hours the fold added and the first hours the windows left."""
    key = (found.spans, found.late, found.version, frozenset(success_ids), frozenset(latency_ids))
    kept = KEPT[0] if KEPT else None
    if kept is None or kept.key != key or not kept.follows(found.hours):
        kept = HourSums.read(key, found, success_ids, latency_ids)
    elif kept.hours != found.hours:
        kept.update(found, success_ids, latency_ids)
    else:
        kept.read_ahead(found, success_ids, latency_ids)
    KEPT[:] = [kept]
    return kept


def scopes(slos: list[SLO]) -> dict[int, list[int]]:
    """Each SLO's functions: its own, or its service's now."""
    by_service: dict[int, list[int]] = defaultdict(list)
    services = {slo.service_id for slo in slos if slo.function_id is None}
    for service_id, function_id in Function.objects.filter(service_id__in=services).values_list("service_id", "id"):
        by_service[service_id].append(function_id)
    return {slo.id: [slo.function_id] if slo.function_id is not None else by_service[slo.service_id] for slo in slos}


def fast_bucket(slo: SLO) -> int:
    """The first histogram bucket too slow for a latency objective."""
    return int(histogram.bucket_of(slo.latency_ms or 0.0))


# Per span whose first hour's minutes are kept: (its index, its start in epoch seconds, the hour).
Partials = list[tuple[int, float, slo_minutes.Hour | slo_minutes.Settled]]


def add_partials(slo: SLO, functions: list[int], partials: Partials, found: list[list[int]]) -> None:
    latency = slo.objective == Objective.LATENCY
    fast = fast_bucket(slo) if latency else 0
    for i, start, hour in partials:
        for function_id in functions:
            if latency:
                good, total = hour.latency.since((function_id, fast), start)
            else:
                good, total = hour.success.since(function_id, start)
            found[i][0] += good
            found[i][1] += total


def counts_of(
    slo: SLO,
    functions: list[int],
    totals: Totals,
    index: dict[timedelta, int],
    old: bool,
    partials: Partials | None = None,
) -> list[Counts]:
    """The SLO's good and total calls per span, in the plan's span order."""
    found = [[0, 0] for _ in index]
    add_partials(slo, functions, partials or [], found)
    if slo.objective != Objective.LATENCY:
        for part in (totals.success, totals.old_success) if old else (totals.success,):
            for function_id in functions:
                sums = part.get(function_id)
                for i in range(len(found)) if sums else ():
                    found[i][0] += sums[2 * i]
                    found[i][1] += sums[2 * i + 1]
        return [Counts(good, total) for good, total in found]
    fast = fast_bucket(slo)
    for part in (totals.buckets, totals.old_buckets) if old else (totals.buckets,):
        for function_id in functions:
            for bucket, sums in part.get(function_id, {}).items():
                for i, value in enumerate(sums):
                    found[i][1] += value
                    if bucket < fast:
                        found[i][0] += value
    return [Counts(good, total) for good, total in found]


def round_counts(wanted: dict[SLO, list[timedelta]], now: datetime) -> dict[int, dict[timedelta, Counts]]:
    """Good and total calls in each SLO's windows ending now, keyed by SLO id then span:
    what `slo_counts.window_counts(slo, spans, now)` gives each, read for all at once."""
    if not wanted:
        return {}
    found = plan([span for spans in wanted.values() for span in spans], now)
    functions = scopes(list(wanted))
    cutoff = minute_cutoff(now)
    # slo_counts reads CallHour for an SLO whose longest window reaches past the cutoff.
    old = {slo.id for slo, spans in wanted.items() if now - max(spans) < cutoff}
    success_ids, latency_ids, old_ids = set(), set(), set()
    for slo in wanted:
        (latency_ids if slo.objective == Objective.LATENCY else success_ids).update(functions[slo.id])
        if slo.id in old:
            old_ids.update(functions[slo.id])
    totals = read_all(found, success_ids, latency_ids, old_ids)
    thresholds = {
        (function_id, fast_bucket(slo))
        for slo in wanted
        if slo.objective == Objective.LATENCY
        for function_id in functions[slo.id]
    }
    starts: dict[datetime, datetime] = {}
    for span, hour in zip(found.spans, found.partial, strict=True):
        if hour is not None:
            starts[hour] = min(starts.get(hour, hour + HOUR), floor(now - span, MINUTE))
    kept = slo_minutes.hours(starts, found.minutes_version, success_ids, thresholds)
    # The hours they start in once the hour turns, read ahead a slice a round.
    slo_minutes.read_ahead({hour + HOUR for hour in starts}, now, found.minutes_version, success_ids, thresholds)
    partials: Partials = [
        (i, (now - span).timestamp(), kept[hour])
        for i, (span, hour) in enumerate(zip(found.spans, found.partial, strict=True))
        if hour is not None
    ]
    if found.settled is not None:
        # The settled minutes every span reads after its whole hours, kept from the earliest.
        moments = [found.kept_since(span, hours) for span, hours in zip(found.spans, found.hours, strict=True)]
        start = min(floor(min(moments), MINUTE), found.settled)
        minutes = slo_minutes.settled(
            start, found.settled, found.minutes_version, found.listed, success_ids, thresholds
        )
        partials += [(i, moment.timestamp(), minutes) for i, moment in enumerate(moments)]
    index = {span: i for i, span in enumerate(found.spans)}
    result = {}
    for slo, spans in wanted.items():
        counts = counts_of(slo, functions[slo.id], totals, index, slo.id in old, partials)
        result[slo.id] = {span: counts[index[span]] for span in sorted(set(spans))}
    return result
