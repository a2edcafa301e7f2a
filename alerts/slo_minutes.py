"""The minute buckets of the folded hour a long window starts in, kept between SLO rounds.

A window of hours or days starts inside an hour the fold has added up: its whole hours come
from FunctionHour (kept as well: slo_sums.hour_rows), the part of its first hour after the
window's start from the minute buckets. That part moves with every round, the hour's buckets
do not: they are read once, summed per function and minute (for a latency objective, the
calls under each threshold its SLOs name, and all of them), and each round adds up the
minutes after its start from what was kept.

Kept only for an hour the fold has added up and no late minute lists (slo_sums.plan decides);
late calls into it list it (it is then read from the minute buckets), and once the fold adds
it up again, the function hours' new version (RollupMark.hours_version) makes a new read.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from monitoring.models import CallBucket
from monitoring.ranges import HOUR
from monitoring.writers import writer

SUCCESS_SQL = (
    "SELECT function_id, {slot}, SUM(success), SUM(success + failure + timeout + rejected) FROM {table}"
    " WHERE function_id IN ({ids}) AND minute >= %s AND minute < %s GROUP BY 1, 2"
)
# Per function and threshold (t: VALUES of (function id, first slow bucket)): the calls under it, and all.
LATENCY_SQL = (
    "SELECT t.column1, t.column2, {slot},"
    " SUM(CASE WHEN CAST(h.key AS INTEGER) < t.column2 THEN {value} ELSE 0 END), SUM({value})"
    " FROM {table} JOIN (VALUES {pairs}) AS t ON t.column1 = {table}.function_id, {each} AS h"
    " WHERE {table}.function_id IN ({ids}) AND minute >= %s AND minute < %s GROUP BY 1, 2, 3"
)
CHUNK = 5000  # functions per statement


@dataclass(frozen=True)
class Suffixes:
    """One hour's minutes per key (a function, or a function and threshold), and the good and
    total calls of the minutes from each one on."""

    minutes: dict[object, list[int]]  # epoch seconds, ascending
    after: dict[object, list[tuple[int, int]]]  # after[key][i]: the sums of minutes[i:]

    def since(self, key: object, moment_s: float) -> tuple[int, int]:
        """The good and total calls of the key's minutes after the moment (epoch seconds)."""
        minutes = self.minutes.get(key)
        if minutes is None:
            return 0, 0
        return self.after[key][bisect_right(minutes, moment_s)]


@dataclass(frozen=True)
class Hour:
    success: Suffixes  # by function id
    latency: Suffixes  # by (function id, first slow bucket)


# This process's kept hours: {(hour, version, functions, thresholds): Hour}, the latest round's only.
KEPT: dict[tuple, Hour] = {}


def suffixes(rows: list[tuple]) -> Suffixes:
    """From rows (key, minute's epoch seconds, good, total)."""
    by_key: dict[object, list[tuple[int, int, int]]] = defaultdict(list)
    for *key, slot, good, total in rows:
        by_key[key[0] if len(key) == 1 else tuple(key)].append((int(slot), int(good or 0), int(total or 0)))
    minutes, after = {}, {}
    for key, found in by_key.items():
        found.sort()
        sums, good_sum, total_sum = [(0, 0)], 0, 0
        for _, good, total in reversed(found):
            good_sum, total_sum = good_sum + good, total_sum + total
            sums.append((good_sum, total_sum))
        minutes[key] = [slot for slot, _, _ in found]
        after[key] = sums[::-1]
    return Suffixes(minutes, after)


def read(hour: datetime, success_ids: set[int], thresholds: set[tuple[int, int]]) -> Hour:
    engine = writer()
    table = CallBucket._meta.db_table
    names = {"slot": engine.slot("minute", 60), "table": table, "value": engine.histogram_value}
    params = [connection.ops.adapt_datetimefield_value(moment) for moment in (hour, hour + HOUR)]
    success_rows: list[tuple] = []
    latency_rows: list[tuple] = []
    by_function: dict[int, list[int]] = defaultdict(list)
    for function_id, fast in thresholds:
        by_function[function_id].append(fast)
    with engine.without_jit(), connection.cursor() as cursor:
        ordered = sorted(success_ids)
        for chunk in (ordered[i : i + CHUNK] for i in range(0, len(ordered), CHUNK)):
            # Integers read from the database, written out (see slo_sums.read).
            cursor.execute(SUCCESS_SQL.format(**names, ids=", ".join(str(int(i)) for i in chunk)), params)
            success_rows += cursor.fetchall()
        ordered = sorted(by_function)
        for chunk in (ordered[i : i + CHUNK] for i in range(0, len(ordered), CHUNK)):
            pairs = ", ".join(f"({int(f)}, {int(fast)})" for f in chunk for fast in by_function[f])
            ids = ", ".join(str(int(i)) for i in chunk)
            cursor.execute(LATENCY_SQL.format(**names, pairs=pairs, ids=ids, each=engine.each(table)), params)
            latency_rows += cursor.fetchall()
    return Hour(suffixes(success_rows), suffixes(latency_rows))


def hours(
    wanted: set[datetime], version: int, success_ids: set[int], thresholds: set[tuple[int, int]]
) -> dict[datetime, Hour]:
    """These folded hours' minute sums, read for the ones not kept yet; the others forgotten."""
    ids, pairs = frozenset(success_ids), frozenset(thresholds)
    keys = {hour: (hour, version, ids, pairs) for hour in wanted}
    found = {hour: KEPT.get(key) or read(hour, success_ids, thresholds) for hour, key in keys.items()}
    KEPT.clear()
    KEPT.update({keys[hour]: sums for hour, sums in found.items()})
    return found
