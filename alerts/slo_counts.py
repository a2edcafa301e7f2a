"""Good and total calls of an SLO's functions, summed by the database from the stored rows.

What an SLO's page and API read; the round reads every SLO at once (slo_sums.py), with the
same counts.

Bounded whatever the traffic: every window an SLO needs (its own, and each burn-rate
alert's long and short one) is summed in ONE statement per table with a conditional sum
per window; the budget's history is one statement per table grouped by the hour. Minute
buckets are read while they are kept; past MONITOR_RAW_RETENTION_DAYS the hourly roll-ups
are (a row lives in one table or the other, never both, so nothing counts twice).

A window covers the minute buckets whose minute is after `now - span` (a 5-minute window
is the last five buckets, the current one included) and the hours that overlap it.

Good calls: for a success objective, the successes (not failed, timed out or rejected);
for a latency objective, the calls whose histogram bucket lies wholly under the threshold
(a bucket the threshold falls inside counts as slow, so the threshold is in effect rounded
down to a bucket bound, at most 5 % lower: monitoring/histogram.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection

from monitoring import histogram
from monitoring.models import CallBucket, CallHour, Function
from monitoring.ranges import EPOCH, HOUR, minute_cutoff
from monitoring.writers import writer

from .burn import Counts
from .models import SLO, Objective

SUCCESS_SUMS = ("success", "success + failure + timeout + rejected")
SQL = "SELECT {sums} FROM {source} WHERE {column} > %s{scope}"
SERIES_SQL = "SELECT {slot}, SUM({good}), SUM({total}) FROM {source} WHERE {column} > %s{scope} GROUP BY 1"


@dataclass(frozen=True)
class Source:
    """One stored table as an SLO reads it: what a good call and a call are, and where."""

    table: str
    column: str
    good: str
    total: str
    each: str  # ", <histogram entries> AS h" for a latency objective, else ""


def sources(slo: SLO, since: datetime, now: datetime) -> list[tuple[Source, timedelta]]:
    """The tables to read back to `since`, each with how far before a row's time it reaches
    (an hourly row holds the hour after its time)."""
    tables = [(CallBucket._meta.db_table, "minute", timedelta(minutes=1))]
    if since < minute_cutoff(now):
        tables.append((CallHour._meta.db_table, "hour", HOUR))
    return [(source(slo, table, column), length) for table, column, length in tables]


def source(slo: SLO, table: str, column: str) -> Source:
    if slo.objective != Objective.LATENCY:
        return Source(table, column, *SUCCESS_SUMS, each="")
    engine = writer()
    value = engine.histogram_value
    fast = histogram.bucket_of(slo.latency_ms or 0.0)
    good = f"CASE WHEN CAST(h.key AS INTEGER) < {int(fast)} THEN {value} ELSE 0 END"
    return Source(table, column, good, value, each=f", {engine.each(table)} AS h")


def scope(slo: SLO) -> tuple[str, list]:
    if slo.function_id is not None:
        return " AND function_id = %s", [slo.function_id]
    functions = Function._meta.db_table
    return f" AND function_id IN (SELECT id FROM {functions} WHERE service_id = %s)", [slo.service_id]


def at(moment: datetime) -> object:
    return connection.ops.adapt_datetimefield_value(moment)


def window_counts(slo: SLO, spans: list[timedelta], now: datetime) -> dict[timedelta, Counts]:
    """Good and total calls in each of the windows ending now, one statement per table."""
    spans = sorted(set(spans))
    found = {span: [0, 0] for span in spans}
    where, scoped = scope(slo)
    with connection.cursor() as cursor:
        for src, length in sources(slo, now - spans[-1], now):
            starts = [at(now - span - length + timedelta(minutes=1)) for span in spans]
            sums = ", ".join(
                f"SUM(CASE WHEN {src.column} > %s THEN {expression} ELSE 0 END)"
                for _ in spans
                for expression in (src.good, src.total)
            )
            sql = SQL.format(sums=sums, source=src.table + src.each, column=src.column, scope=where)
            params = [start for start in starts for _ in (0, 1)]
            cursor.execute(sql, [*params, min(starts), *scoped])
            row = cursor.fetchone()
            for i, span in enumerate(spans):
                found[span][0] += int(row[2 * i] or 0)
                found[span][1] += int(row[2 * i + 1] or 0)
    return {span: Counts(good, total) for span, (good, total) in found.items()}


def hourly_counts(slo: SLO, now: datetime) -> dict[datetime, Counts]:
    """Good and total calls per hour over the SLO window, hours without calls left out."""
    since = now - slo.window
    where, scoped = scope(slo)
    found: dict[datetime, list[int]] = {}
    with connection.cursor() as cursor:
        for src, length in sources(slo, since, now):
            sql = SERIES_SQL.format(
                slot=writer().slot(src.column, 3600),
                good=src.good,
                total=src.total,
                source=src.table + src.each,
                column=src.column,
                scope=where,
            )
            cursor.execute(sql, [at(since - length + timedelta(minutes=1)), *scoped])
            for slot, good, total in cursor.fetchall():
                sums = found.setdefault(EPOCH + timedelta(seconds=int(slot)), [0, 0])
                sums[0] += int(good or 0)
                sums[1] += int(total or 0)
    return {hour: Counts(good, total) for hour, (good, total) in sorted(found.items())}
