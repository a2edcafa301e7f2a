"""Every function's calls added up since counting began: what Prometheus counters need.

A Prometheus counter must never go back, or `rate()` reads the drop as a restart and counts
the whole value again. Sums over the minute buckets would go back at every retention
roll-up (the buckets move into hours) and sums over buckets and hours when old hours are
forgotten; summing them all at each scrape would also cost more every day. So:

- `fold()` (a periodic job, every minute) adds the minute buckets of settled minutes (older
  than SETTLE) into one CallTotal row per function and moves CallTotalMark.through past them.
  Nothing ever subtracts from a CallTotal: retention does not touch them.
- `current()` (each scrape) reads CallTotal plus the buckets from the mark on: a few
  minutes of rows, whatever the age of the install.

Calls reported more than SETTLE after their minute was folded are on the pages and in the
alerts but not in these totals: counting them would need the folded minute again. While
`fold()` runs it holds bucket writes (writers.hold_bucket_writes), so no call is seen by one
scrape and missed by the next; a scrape that straddles a fold reads again.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from . import histogram
from .models import CallBucket, CallTotal, CallTotalMark
from .writers import writer

SETTLE = timedelta(minutes=5)
# The most one fold adds, so a fold after a long pause stays short (the next ones catch up).
MOST = timedelta(minutes=10)
# Latency bounds in ms: the stored bucket edges (monitoring/histogram.py) nearest to the
# usual 1-2.5-5 steps, so each count under a bound is exact, not interpolated.
STEPS_MS = (1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
EDGES = tuple(round(math.log(ms / histogram.MIN_MS) / math.log(histogram.GROWTH)) for ms in STEPS_MS)
BOUNDS_MS = tuple(histogram.MIN_MS * histogram.GROWTH**edge for edge in EDGES)
COUNTED = ("success", "failure", "timeout", "rejected", "retries", "latency_sum_ms")


@dataclass
class Total:
    success: int = 0
    failure: int = 0
    timeout: int = 0
    rejected: int = 0
    retries: int = 0
    latency_sum_ms: float = 0.0
    # Calls per bin: bin i holds latencies under BOUNDS_MS[i] and not under the one before;
    # the last bin those past the largest bound.
    bins: list[int] = field(default_factory=lambda: [0] * (len(EDGES) + 1))

    @property
    def calls(self) -> int:
        return self.success + self.failure + self.timeout + self.rejected

    def add(self, other: Total) -> None:
        for name in COUNTED:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.bins = [a + b for a, b in zip(self.bins, other.bins, strict=True)]


def bin_of(bucket: int) -> int:
    """The bin of a stored histogram bucket: bucket b holds [edge b, edge b+1), so it is under
    the bound at edge k exactly when b < k."""
    return bisect.bisect_right(EDGES, bucket)


def bin_sql(key: str) -> str:
    cases = " ".join(f"WHEN CAST({key} AS INTEGER) < {edge} THEN {i}" for i, edge in enumerate(EDGES))
    return f"CASE {cases} ELSE {len(EDGES)} END"


def settled(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0) - SETTLE


def bucket_sums(start: datetime, end: datetime | None = None) -> dict[int, Total]:
    """Calls per function in the minute buckets from start (to end), added up by the database."""
    rows = CallBucket.objects.filter(minute__gte=start)
    if end is not None:
        rows = rows.filter(minute__lt=end)
    sums = rows.values("function_id").annotate(**{name: Sum(name) for name in COUNTED})
    totals = {row.pop("function_id"): Total(**row) for row in sums}
    if totals:
        for function_id, index, count in bin_counts(start, end):
            totals[function_id].bins[index] += int(count)
    return totals


def bin_counts(start: datetime, end: datetime | None) -> list[tuple]:
    engine = writer()
    table = CallBucket._meta.db_table
    params = [connection.ops.adapt_datetimefield_value(start)]
    until = ""
    if end is not None:
        until = " AND minute < %s"
        params.append(connection.ops.adapt_datetimefield_value(end))
    sql = (
        f"SELECT function_id, {bin_sql('h.key')} AS bin, SUM({engine.histogram_value})"
        f" FROM {table}, {engine.each(table)} AS h WHERE minute >= %s{until} GROUP BY 1, 2"
    )
    with engine.without_jit(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def mark() -> datetime:
    """Where the totals end; set at the first call (counting begins then)."""
    row, _ = CallTotalMark.objects.get_or_create(pk=1, defaults={"through": settled(timezone.now())})
    return row.through


def fold(now: datetime | None = None) -> int:
    """Add the settled minutes since the mark into the totals; returns the functions added to."""
    mark()
    with transaction.atomic():
        writer().hold_bucket_writes()
        row = CallTotalMark.objects.select_for_update().get(pk=1)
        end = min(settled(now or timezone.now()), row.through + MOST)
        if end <= row.through:
            return 0
        added = bucket_sums(row.through, end)
        stored = {t.function_id: t for t in CallTotal.objects.select_for_update().filter(function_id__in=added)}
        rows = []
        for function_id, more in sorted(added.items()):
            total = stored.get(function_id) or CallTotal(function_id=function_id)
            total.bins = total.bins or [0] * (len(EDGES) + 1)
            summed = Total(**{name: getattr(total, name) for name in COUNTED}, bins=total.bins)
            summed.add(more)
            rows.append(CallTotal(function_id=function_id, **vars(summed)))
        CallTotal.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["function"], update_fields=[*COUNTED, "bins"]
        )
        row.through = end
        row.save(update_fields=["through"])
    return len(added)


TOTALS_WITH_MARK = """
SELECT m.through, t.function_id, t.success, t.failure, t.timeout, t.rejected, t.retries, t.latency_sum_ms, t.bins
FROM {mark} m LEFT JOIN {total} t ON 1 = 1 WHERE m.id = 1
"""


def stored_totals() -> tuple[datetime | None, dict[int, Total]]:
    """The totals and their mark, read in one statement: never a fold's totals with the mark
    before it."""
    sql = TOTALS_WITH_MARK.format(mark=CallTotalMark._meta.db_table, total=CallTotal._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    through = None
    totals = {}
    for row in rows:
        through = row[0]
        if row[1] is not None:
            bins = orjson.loads(row[8]) if isinstance(row[8], str | bytes) else row[8]
            totals[row[1]] = Total(*row[2:8], bins=bins)
    if isinstance(through, str):  # SQLite hands raw datetimes back as text, in UTC
        through = datetime.fromisoformat(through)
    if through is not None and timezone.is_naive(through):
        through = timezone.make_aware(through, UTC)
    return through, totals


def current(attempts: int = 5) -> dict[int, Total]:
    """Every function's calls since counting began, the minutes not folded yet included."""
    for _ in range(attempts):
        through = mark()
        recent = bucket_sums(through)
        folded_through, totals = stored_totals()
        # A fold committed between the two reads: its minutes would count twice. Read again.
        if folded_through == through:
            for function_id, more in recent.items():
                totals.setdefault(function_id, Total()).add(more)
            return totals
    raise RuntimeError("the call totals moved under every read; try again")
