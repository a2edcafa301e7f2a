"""Every function's calls added up since counting began: what Prometheus counters need.

A Prometheus counter must never go back, or `rate()` reads the drop as a restart and counts
the whole value again. Sums over the minute buckets would go back at every retention
roll-up (the buckets move into hours) and sums over buckets and hours when old hours are
forgotten; summing them all at each scrape would also cost more every day. So:

- `fold()` (a periodic job, every minute) adds the minute buckets of settled minutes (older
  than SETTLE) into one CallTotal row per function, in one SQL statement, and moves
  CallTotalMark.through past them.
  Nothing ever subtracts from a CallTotal: retention does not touch them.
- `current()` (each scrape) reads CallTotal plus the buckets from the mark on: a few
  minutes of rows, whatever the age of the install.

Calls reported more than SETTLE after their minute was folded are on the pages and in the
alerts but not in these totals: counting them would need the folded minute again.

No call may be seen by one scrape and missed by the next (the counter would go back): a late
call written into a minute while a fold adds that minute up, after the fold's read, must not
be seen by a scrape before the fold commits. Writers are not held for that (ingest goes on
while the fold runs): the fold locks the mark's row from its start to its commit, and a
scrape reads under a lock on that row too, so scrapes and folds take turns and a scrape sees
the buckets either before a fold began or after it committed. A scrape that still finds the
mark moved between its reads reads again.
"""

from __future__ import annotations

import math
import operator
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from . import histogram
from .models import CallBucket, CallTotal, CallTotalMark
from .writers import writer

SETTLE = timedelta(minutes=5)
# The most one transaction folds: each holds ingest's bucket writes (PostgreSQL) while it
# runs, so after a pause the fold catches up a minute per transaction, not all at once.
MOST = timedelta(minutes=1)
# Latency bounds in ms: the stored bucket edges (monitoring/histogram.py) nearest to the
# usual 1-2.5-5 steps, so each count under a bound is exact, not interpolated.
STEPS_MS = (1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
EDGES = tuple(round(math.log(ms / histogram.MIN_MS) / math.log(histogram.GROWTH)) for ms in STEPS_MS)
BOUNDS_MS = tuple(histogram.MIN_MS * histogram.GROWTH**edge for edge in EDGES)
COUNTED = ("success", "failure", "timeout", "rejected", "retries", "latency_sum_ms")
BINS = tuple(f"bin{i}" for i in range(len(EDGES) + 1))
COLUMNS = (*COUNTED, *BINS)


class Total(tuple):
    """(success, failure, timeout, rejected, retries, latency_sum_ms, bin0, ... bin13)."""

    __slots__ = ()

    def __new__(cls, values: tuple = (0,) * len(COLUMNS)) -> Total:
        return super().__new__(cls, values)

    success = property(lambda self: self[0])
    failure = property(lambda self: self[1])
    timeout = property(lambda self: self[2])
    rejected = property(lambda self: self[3])
    retries = property(lambda self: self[4])
    latency_sum_ms = property(lambda self: self[5])
    bins = property(lambda self: self[6:])

    @property
    def calls(self) -> int:
        return sum(self[:4])

    def __add__(self, other: tuple) -> Total:
        return Total(tuple(map(operator.add, self, other)))


def settled(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0) - SETTLE


# The minute buckets in a range added up per function: counts, and the histograms' buckets
# added into bins. Shared by the fold (INSERT ... SELECT) and the scrape (SELECT).
SUMS = """
SELECT c.function_id, c.success, c.failure, c.timeout, c.rejected, c.retries, c.latency_sum_ms, {bins}
FROM (
    SELECT function_id, SUM(success) AS success, SUM(failure) AS failure, SUM(timeout) AS timeout,
           SUM(rejected) AS rejected, SUM(retries) AS retries, SUM(latency_sum_ms) AS latency_sum_ms
    FROM {bucket} WHERE minute >= %(start)s {until} GROUP BY function_id
) AS c LEFT JOIN (
    SELECT function_id, {bin_sums} FROM (
        SELECT function_id, CASE {cases} ELSE {last} END AS bin, SUM({value}) AS n
        FROM {bucket}, {each} AS h WHERE minute >= %(start)s {until} GROUP BY 1, 2
    ) AS e GROUP BY function_id
) AS b ON b.function_id = c.function_id
"""
# WHERE true: without it SQLite would read ON CONFLICT as part of the SELECT's join.
FOLD = """
INSERT INTO {total} (function_id, {columns}) {sums} WHERE true
ON CONFLICT (function_id) DO UPDATE SET {added}
"""


def sums_sql(until: bool) -> str:
    engine = writer()
    bucket = CallBucket._meta.db_table
    return SUMS.format(
        bins=", ".join(f"COALESCE(b.{name}, 0)" for name in BINS),
        bucket=bucket,
        until="AND minute < %(end)s" if until else "",
        # Cast back: PostgreSQL's SUM of bigints is numeric, which reaches Python as Decimal
        # (140,000 of them in a scrape of 10,000 functions, and slow to add up and print).
        bin_sums=", ".join(
            f"CAST(SUM(CASE WHEN bin = {i} THEN n ELSE 0 END) AS BIGINT) AS {name}" for i, name in enumerate(BINS)
        ),
        cases=" ".join(f"WHEN CAST(h.key AS INTEGER) < {edge} THEN {i}" for i, edge in enumerate(EDGES)),
        last=len(EDGES),
        value=engine.histogram_value,
        each=engine.each(bucket),
    )


def params(start: datetime, end: datetime | None = None) -> dict:
    adapt = connection.ops.adapt_datetimefield_value
    return {"start": adapt(start), "end": adapt(end) if end else None}


def bucket_sums(start: datetime) -> dict[int, Total]:
    """Calls per function in the minute buckets from start on, added up by the database."""
    with writer().without_jit(), connection.cursor() as cursor:
        cursor.execute(sums_sql(until=False), params(start))
        return {row[0]: Total(row[1:]) for row in cursor.fetchall()}


def mark() -> datetime:
    """Where the totals end; set at the first call (counting begins then)."""
    row, _ = CallTotalMark.objects.get_or_create(pk=1, defaults={"through": settled(timezone.now())})
    return row.through


def fold(now: datetime | None = None) -> int:
    """Add the settled minutes since the mark into the totals, a minute per transaction;
    returns how many function-minutes were added."""
    mark()
    added = 0
    while (more := fold_once(now)) is not None:
        added += more
    return added


def fold_once(now: datetime | None) -> int | None:
    """Fold up to MOST past the mark: the rows added to, or None when nothing was left."""
    table = CallTotal._meta.db_table
    sql = FOLD.format(
        total=table,
        columns=", ".join(COLUMNS),
        sums=sums_sql(until=True),
        added=", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in COLUMNS),
    )
    with transaction.atomic():
        # Scrapes wait for this lock (and this for theirs); bucket writers do not.
        row = CallTotalMark.objects.select_for_update().get(pk=1)
        end = min(settled(now or timezone.now()), row.through + MOST)
        if end <= row.through:
            return None
        with writer().without_jit(), connection.cursor() as cursor:
            cursor.execute(sql, params(row.through, end))
            added = cursor.rowcount
        row.through = end
        row.save(update_fields=["through"])
    return added


TOTALS_WITH_MARK = """
SELECT m.through, t.function_id, {columns}
FROM {mark} m LEFT JOIN {total} t ON 1 = 1 WHERE m.id = 1
"""


def stored_totals() -> tuple[datetime | None, dict[int, Total]]:
    """The totals and their mark, read in one statement: never a fold's totals with the mark
    before it."""
    sql = TOTALS_WITH_MARK.format(
        mark=CallTotalMark._meta.db_table,
        total=CallTotal._meta.db_table,
        columns=", ".join(f"t.{name}" for name in COLUMNS),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    through = rows[0][0] if rows else None
    totals = {row[1]: Total(row[2:]) for row in rows if row[1] is not None}
    if isinstance(through, str):  # SQLite hands raw datetimes back as text, in UTC
        through = datetime.fromisoformat(through)
    if through is not None and timezone.is_naive(through):
        through = timezone.make_aware(through, UTC)
    return through, totals


def current(attempts: int = 5) -> dict[int, Total]:
    """Every function's calls since counting began, the minutes not folded yet included."""
    mark()
    for _ in range(attempts):
        # One transaction on PostgreSQL (the writer's without_jit opens one), where a fold waits
        # for this lock on the mark and this for a fold's (and for other scrapes': Django locks
        # no row in share mode; a scrape is short). None on SQLite, where a transaction would
        # take the one write lock from ingest, and none is needed: a fold holds that lock
        # until it commits, so no late call lands while it runs.
        with writer().without_jit():
            through = CallTotalMark.objects.select_for_update(no_key=True).get(pk=1).through
            recent = bucket_sums(through)
            folded_through, totals = stored_totals()
        # A fold committed between the two reads: its minutes would count twice. Read again.
        if folded_through == through:
            for function_id, more in recent.items():
                totals[function_id] = totals[function_id] + more if function_id in totals else more
            return totals
    raise RuntimeError("the call totals moved under every read; try again")
