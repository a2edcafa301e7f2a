"""The minute buckets of the folded hour a long window starts in, kept between SLO rounds.

A window of hours or days starts inside an hour the fold has added up: its whole hours come
from FunctionHour (kept as well: slo_sums.hour_rows), the part of its first hour after the
window's start from the minute buckets. That part moves with every round, the hour's buckets
do not: they are read once, summed per function and minute (for a latency objective, the
calls under each threshold its SLOs name, and all of them), and each round adds up the
minutes after its start from what was kept.

Kept only for an hour the fold has added up and no late minute lists (slo_sums.plan decides);
late calls into it list it (it is then read from the minute buckets), and once the fold adds
it up again, its new minutes version (RollupMark.minutes_version) makes a new read. Only the
minutes after the earliest window start in the hour are read: the starts move later.

The settled minutes (`settled`): the minute buckets before the fold's minute mark that the
windows read after their whole hours (the hour under way, and the last hour for the hour-long
windows) are kept too, per function and minute, so that a round reads from the minute buckets
only the minutes after the mark (two or three) and those the fold settled since the round
before. A late call into a kept minute lists it (LateMinute): it is read again every round
while listed; the fold taking it renews the minutes version, and all is read again.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection

from monitoring.models import CallBucket
from monitoring.ranges import HOUR, floor
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
MINUTE = timedelta(minutes=1)


class Prefix:
    """Per key, its minutes (epoch seconds, ascending) and the good and total calls up to each
    (goods[i], totals[i]: of minutes[:i]), in flat integer arrays (a few objects a key, not
    three a minute: kept hours are built and dropped at once); minutes are added at the end,
    or one replaced."""

    def __init__(self) -> None:
        self.minutes: dict[object, array] = {}
        self.goods: dict[object, array] = {}
        self.totals: dict[object, array] = {}

    @classmethod
    def of(cls, rows: list[tuple]) -> Prefix:
        """From rows (key..., minute's epoch seconds, good, total)."""
        found = cls()
        found.add(rows)
        return found

    def since(self, key: object, moment_s: float) -> tuple[int, int]:
        """The good and total calls of the key's minutes after the moment (epoch seconds)."""
        minutes = self.minutes.get(key)
        if minutes is None:
            return 0, 0
        goods, totals = self.goods[key], self.totals[key]
        i = bisect_right(minutes, moment_s)
        return goods[-1] - goods[i], totals[-1] - totals[i]

    def forget(self, before_s: int) -> None:
        """The minutes before this one dropped (the sums after a minute do not change)."""
        for key in list(self.minutes):
            i = bisect_left(self.minutes[key], before_s)
            if i == len(self.minutes[key]):
                del self.minutes[key], self.goods[key], self.totals[key]
            elif i:
                self.minutes[key], self.goods[key], self.totals[key] = (
                    self.minutes[key][i:],
                    self.goods[key][i:],
                    self.totals[key][i:],
                )

    def add(self, rows: list[tuple]) -> None:
        """Rows (key..., minute, good, total) of minutes after every minute kept."""
        for key, slot, good, total in sorted(keyed(rows), key=lambda row: row[1]):
            minutes = self.minutes.get(key)
            if minutes is None:
                minutes = self.minutes[key] = array("q")
                self.goods[key], self.totals[key] = array("q", (0,)), array("q", (0,))
            goods, totals = self.goods[key], self.totals[key]
            minutes.append(slot)
            goods.append(goods[-1] + good)
            totals.append(totals[-1] + total)

    def replace(self, slot: int, rows: list[tuple]) -> None:
        """One minute's rows read again: each key's calls in that minute are these (or none)."""
        fresh = {key: (good, total) for key, _, good, total in keyed(rows)}
        for key in set(self.minutes) | set(fresh):
            minutes = self.minutes.get(key, array("q"))
            goods, totals = self.goods.get(key, array("q", (0,))), self.totals.get(key, array("q", (0,)))
            i = bisect_left(minutes, slot)
            had = i < len(minutes) and minutes[i] == slot
            if not had and key not in fresh:
                continue  # neither had calls then nor has: unchanged (most keys)
            found = {m: (goods[i + 1] - goods[i], totals[i + 1] - totals[i]) for i, m in enumerate(minutes)}
            found.pop(slot, None)
            if key in fresh:
                found[slot] = fresh[key]
            for name in ("minutes", "goods", "totals"):
                getattr(self, name).pop(key, None)
            self.add([(key, m, good, total) for m, (good, total) in sorted(found.items())])


def keyed(rows: list[tuple]) -> list[tuple[object, int, int, int]]:
    return [
        (key[0] if len(key) == 1 else tuple(key), int(slot), int(good or 0), int(total or 0))
        for *key, slot, good, total in rows
    ]


@dataclass(frozen=True)
class Hour:
    success: Prefix  # by function id
    latency: Prefix  # by (function id, first slow bucket)
    since: datetime  # its minutes from this one on


# This process's kept hours: {(hour, version, functions, thresholds): Hour}, the latest round's only.
KEPT: dict[tuple, Hour] = {}


def rows(
    start: datetime, end: datetime, success_ids: set[int], thresholds: set[tuple[int, int]]
) -> tuple[list[tuple], list[tuple]]:
    """The minute buckets in [start, end) summed per key and minute: (success rows, latency rows),
    each (key..., minute's epoch seconds, good, total)."""
    engine = writer()
    table = CallBucket._meta.db_table
    names = {"slot": engine.slot("minute", 60), "table": table, "value": engine.histogram_value}
    params = [connection.ops.adapt_datetimefield_value(moment) for moment in (start, end)]
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
    return success_rows, latency_rows


def read(hour: datetime, since: datetime, success_ids: set[int], thresholds: set[tuple[int, int]]) -> Hour:
    """The hour's minutes from `since` on (the earliest window start in it: the round adds up
    only minutes after a start, and the starts move later)."""
    success_rows, latency_rows = rows(max(hour, since), hour + HOUR, success_ids, thresholds)
    return Hour(Prefix.of(success_rows), Prefix.of(latency_rows), since)


def hours(
    wanted: dict[datetime, datetime], version: int, success_ids: set[int], thresholds: set[tuple[int, int]]
) -> dict[datetime, Hour]:
    """These folded hours' minute sums (each hour: the earliest minute needed), read for the
    ones not kept yet (or kept from a later minute); the others forgotten."""
    ids, pairs = frozenset(success_ids), frozenset(thresholds)
    keys = {hour: (hour, version, ids, pairs) for hour in wanted}
    found = {}
    for hour, key in keys.items():
        kept = KEPT.get(key)
        ready = AHEAD.get(hour)
        if kept and kept.since <= wanted[hour]:
            found[hour] = kept
        elif ready and ready.key == key and ready.through >= hour + HOUR:
            found[hour] = Hour(ready.success, ready.latency, hour)  # read ahead, whole
        else:
            found[hour] = read(hour, wanted[hour], success_ids, thresholds)
    KEPT.clear()
    KEPT.update({keys[hour]: sums for hour, sums in found.items()})
    return found


@dataclass
class Ahead:
    """The next hour a long window starts in, read ahead a slice a round: its minutes
    [hour, through) so far, for the functions and thresholds and minutes version of `key`."""

    key: tuple  # (hour, version, functions, thresholds), as KEPT's
    through: datetime
    success: Prefix
    latency: Prefix


# This process's hours read ahead: {hour: Ahead}.
AHEAD: dict[datetime, Ahead] = {}
# The read ahead starts this far into the hour and is done this far before it turns.
AHEAD_FROM, AHEAD_DONE = timedelta(minutes=5), timedelta(minutes=10)


def ahead_through(hour: datetime, now: datetime) -> datetime:
    """How far into `hour` (the next hour a window starts in) a round at `now` has read ahead:
    none of it until AHEAD_FROM into the hour under way, all of it AHEAD_DONE before it turns,
    evenly between (a round every few seconds reads a minute or none)."""
    into = now - floor(now, HOUR)
    share = (into - AHEAD_FROM) / (HOUR - AHEAD_DONE - AHEAD_FROM)
    return hour + min(HOUR, max(timedelta(0), share * HOUR)) // MINUTE * MINUTE


def read_ahead(
    upcoming: set[datetime], now: datetime, version: int, success_ids: set[int], thresholds: set[tuple[int, int]]
) -> None:
    """The hours the long windows start in from the next hour on, read ahead a slice a round
    (their minutes are settled: hours old), so that the round after the hour turns finds them
    (`hours`) rather than reading them whole. A new minutes version starts them again."""
    ids, pairs = frozenset(success_ids), frozenset(thresholds)
    found = {}
    for hour in upcoming:
        key = (hour, version, ids, pairs)
        ahead = AHEAD.get(hour)
        if ahead is None or ahead.key != key:
            ahead = Ahead(key, hour, Prefix(), Prefix())
        through = ahead_through(hour, now)
        if through > ahead.through:
            success_rows, latency_rows = rows(ahead.through, through, success_ids, thresholds)
            ahead.success.add(success_rows)
            ahead.latency.add(latency_rows)
            ahead.through = through
        found[hour] = ahead
    AHEAD.clear()
    AHEAD.update(found)


@dataclass
class Settled:
    """The settled minutes [start, through) of every function a round reads, per function and
    minute (per threshold for latency objectives): the minute buckets the fold has passed change
    only with late calls, which list their minute (read again every round while listed) until
    the fold takes it and renews `version` (RollupMark.minutes_version: all is read again)."""

    key: tuple  # (version, functions, thresholds)
    start: datetime
    through: datetime
    success: Prefix
    latency: Prefix


# This process's settled minutes (None: none kept, as after a restart).
SETTLED: list[Settled] = []


def settled(
    start: datetime,
    through: datetime,
    version: int,
    listed: tuple[datetime, ...],
    success_ids: set[int],
    thresholds: set[tuple[int, int]],
) -> Settled:
    """The settled minutes [start, through), kept from the round before where they can be: only
    the minutes settled since and the late minutes listed are read."""
    key = (version, frozenset(success_ids), frozenset(thresholds))
    kept = SETTLED[0] if SETTLED else None
    if kept is None or kept.key != key or kept.start > start or kept.through > through:
        kept = Settled(key, start, start, Prefix(), Prefix())
    elif start - kept.start >= HOUR:  # the rounds' start moved on: the older minutes go
        kept.success.forget(int(start.timestamp()))
        kept.latency.forget(int(start.timestamp()))
        kept.start = start
    if through > kept.through:
        success_rows, latency_rows = rows(kept.through, through, success_ids, thresholds)
        kept.success.add(success_rows)
        kept.latency.add(latency_rows)
        kept.through = through
    for minute in listed:
        if kept.start <= minute < kept.through:
            success_rows, latency_rows = rows(minute, minute + MINUTE, success_ids, thresholds)
            kept.success.replace(int(minute.timestamp()), success_rows)
            kept.latency.replace(int(minute.timestamp()), latency_rows)
    SETTLED[:] = [kept]
    return kept
