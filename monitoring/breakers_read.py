"""A function's breaker history over a range: per instance, which state it was in and when
(rebuilt from its transitions), and the transitions themselves a page at a time.

- The state at the range's start is the one the instance's last transition before it set.
  When retention has forgotten that one, it is the state the first transition in the range
  left (its old_state), or, with no transition in the range either, the breaker's current
  state if it has held since before the range. Before an instance's first report: unknown.
- An instance that has stopped reporting (no report for MONITOR_STALE_AFTER_S, as in
  health.py) is unknown from its last report on, not its last state forever. Only the
  current silence is known: reports that change nothing are not kept, so an earlier silence
  the instance came back from is not seen.
- Bounded whatever the flapping: states shorter than range/SLOTS that follow one another are
  folded into one "flapping" interval counting its transitions; a lone short state between
  two longer ones stays as it is, so a brief open still shows. Should a band still hold more
  than MAX_INTERVALS, the shortest length is doubled until it does not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from ninja import Schema
from pydantic import Field

from . import ranges
from .health import stale_before
from .models import Breaker, BreakerFlip, BreakerState

UNKNOWN = "unknown"
FLAPPING = "flapping"
# A band is drawn some 300 to 1,300 pixels wide: a state shorter than 1/SLOTS of the range
# would be under about a pixel.
SLOTS = 600
MAX_INTERVALS = 200
DEFAULT_RANGE = "1h"
# Worst first: the order a flapping interval names the states it folds.
SEVERITY = [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED, UNKNOWN]


@dataclass
class Interval:
    start: datetime
    end: datetime
    state: str
    # Began with a transition (not at the range's start, nor where the instance went quiet).
    opened: bool = False
    # Only for "flapping": the transitions in it (the one it began with included) and the
    # states it went through.
    flips: int = 0
    states: list[str] = field(default_factory=list)

    @property
    def length(self) -> timedelta:
        return self.end - self.start


@dataclass
class Band:
    """One instance's states over a range, oldest first, end to end."""

    instance: str
    last_report: datetime
    stale: bool
    intervals: list[Interval]


def span(range_: str | None, start: datetime | None, end: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """The moments a request asks about: a named range ending now, or from/to (to at most now).

    Raises ranges.BadRange naming the parameter that is wrong.
    """
    if start is None and end is None:
        return now - ranges.RANGES[range_ or DEFAULT_RANGE], now
    if start is None:
        raise ranges.BadRange("from", "is needed with to")
    if start.tzinfo is not None and start >= now:
        raise ranges.BadRange("from", "must be in the past: there is no history yet")
    ranges.between(start, end, now)  # the series' rules: an offset, to after from, at most MAX_SPAN
    return start, min(end or now, now)


def bands(
    function_id: int, start: datetime, end: datetime, breakers: Iterable[Breaker], now: datetime | None = None
) -> list[Band]:
    """The bands of these breakers (one function's) from start to end, in the breakers' order.

    The breakers come from carried_in(), which adds the state each held at start.
    """
    breakers = list(breakers)
    quiet_before = stale_before(now)
    flips = (
        BreakerFlip.objects.filter(
            function_id=function_id, instance__in=[b.instance for b in breakers], at__gte=start, at__lt=end
        )
        .order_by("instance", "at", "id")
        .values_list("instance", "old_state", "new_state", "at")
    )
    by_instance = {instance: list(rows) for instance, rows in groupby(flips.iterator(), key=lambda row: row[0])}
    shortest = (end - start) / SLOTS
    out = []
    for breaker in breakers:
        own = by_instance.get(breaker.instance, [])
        if not own and start < breaker.since < end:
            # Its transitions are forgotten (retention), but not when its current state began.
            own = [(breaker.instance, "", breaker.state, breaker.since)]
        quiet_from = breaker.updated if breaker.updated < quiet_before else None
        states = rebuilt(start, end, carried(breaker, start, own), own, quiet_from)
        out.append(Band(breaker.instance, breaker.updated, quiet_from is not None, bounded(states, shortest)))
    return out


def carried_in(breakers: QuerySet[Breaker], start: datetime) -> QuerySet[Breaker]:
    """These breakers, each with `before`: the state its last transition before start set."""
    last = BreakerFlip.objects.filter(
        function_id=OuterRef("function_id"), instance=OuterRef("instance"), at__lt=start
    ).order_by("-at", "-id")
    return breakers.annotate(before=Subquery(last.values("new_state")[:1]))


def carried(breaker: Breaker, start: datetime, flips: list[tuple]) -> str:
    """The state the instance was in at start (see the module's docstring)."""
    if breaker.before:
        return breaker.before
    if flips:
        return flips[0][1] or UNKNOWN
    return breaker.state if breaker.since <= start else UNKNOWN


def rebuilt(
    start: datetime, end: datetime, state: str, flips: list[tuple], quiet_from: datetime | None
) -> list[Interval]:
    """Intervals from start to end: state, then each transition's new state; unknown from quiet_from."""
    changes: list[tuple[datetime, str]] = [(at, new_state) for _, _, new_state, at in flips]
    if quiet_from is not None and quiet_from < end:
        changes = [(at, new) for at, new in changes if at < quiet_from] + [(max(quiet_from, start), UNKNOWN)]
    intervals: list[Interval] = []
    cursor, opened = start, False
    for at, new_state in changes:
        if new_state == state:
            continue
        if at > cursor:
            intervals.append(Interval(cursor, at, state, opened))
            cursor = at
        state, opened = new_state, new_state != UNKNOWN
    if end > cursor:
        intervals.append(Interval(cursor, end, state, opened))
    return intervals


def bounded(intervals: list[Interval], shortest: timedelta) -> list[Interval]:
    """Runs of states shorter than shortest folded into "flapping" ones, at most MAX_INTERVALS in all."""
    out = folded(intervals, shortest)
    while len(out) > MAX_INTERVALS:
        shortest *= 2
        out = folded(out, shortest)
    return out


def folded(intervals: list[Interval], shortest: timedelta) -> list[Interval]:
    out: list[Interval] = []
    for short, run in groupby(intervals, key=lambda interval: interval.length < shortest):
        run = list(run)
        out.extend([flapping(run)] if short and len(run) > 1 else run)
    return out


def flapping(run: list[Interval]) -> Interval:
    states = {state for interval in run for state in (interval.states or [interval.state])}
    flips = sum(interval.flips if interval.state == FLAPPING else int(interval.opened) for interval in run)
    return Interval(run[0].start, run[-1].end, FLAPPING, run[0].opened, flips, [s for s in SEVERITY if s in states])


def history(
    function_id: int,
    start: datetime,
    end: datetime,
    instance: str | None = None,
    offset: int = 0,
    limit: int = 20,
    now: datetime | None = None,
) -> tuple[list[Band], int]:
    """A page of the function's instances (by name) with their bands, and how many there are."""
    breakers = Breaker.objects.filter(function_id=function_id).order_by("instance")
    if instance is not None:
        breakers = breakers.filter(instance=instance)
    page = carried_in(breakers, start)[offset : offset + limit]
    return bands(function_id, start, end, page, now), breakers.count()


def instances(function_id: int) -> list[str]:
    """The instances that ever reported this function's breaker, by name."""
    return list(Breaker.objects.filter(function_id=function_id).order_by("instance").values_list("instance", flat=True))


def transitions(function_id: int, start: datetime, end: datetime, instance: str | None = None) -> QuerySet[BreakerFlip]:
    """The function's transitions from start to end, newest first (page it by slicing)."""
    flips = BreakerFlip.objects.filter(function_id=function_id, at__gte=start, at__lt=end)
    if instance is not None:
        flips = flips.filter(instance=instance)
    return flips.order_by("-at", "-id")


# What the API answers.


class IntervalOut(Schema):
    start: datetime
    end: datetime = Field(description="exclusive; the next interval starts here")
    state: str = Field(description="closed, open, half_open, unknown (no report, or stopped reporting) or flapping")
    flips: int = Field(description="flapping only: the transitions in it, the one it began with included; else 0")
    states: list[str] = Field(description="flapping only: the states it went through, worst first")


class BandOut(Schema):
    instance: str
    last_report: datetime
    stale: bool = Field(description="stopped reporting: unknown from last_report on")
    intervals: list[IntervalOut] = Field(description="oldest first, end to end, from `from` to `to`")


class BreakerHistory(Schema):
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to", description="at most now")
    shortest_s: float = Field(
        description="states shorter than this that follow one another are folded as flapping "
        f"(longer ones too in a band that would still hold over {MAX_INTERVALS} intervals)"
    )
    count: int = Field(description="instances matching, over all pages")
    instances: list[BandOut]


def history_out(
    function_id: int, start: datetime, end: datetime, instance: str | None, offset: int, limit: int
) -> dict:
    found, count = history(function_id, start, end, instance, offset, limit, timezone.now())
    return {
        "from": start,
        "to": end,
        "shortest_s": ((end - start) / SLOTS).total_seconds(),
        "count": count,
        "instances": found,
    }
