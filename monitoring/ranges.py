"""Time ranges for series: which span, at which step, with a bounded number of points.

A range is named (1h, 6h, 24h, 7d, 30d), given as from/to, or (the first API's way) a
number of minutes ending now. Its step is the finest that keeps the series within
MAX_POINTS points: minutes up to a day, hours beyond, days past a month. Steps under an
hour need minute buckets, so a range reaching back past their retention is read by the
hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone

RANGES = {
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
RANGE_PATTERN = "^(" + "|".join(RANGES) + ")$"
STEPS = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1), timedelta(days=1)]
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
MAX_POINTS = 750
# Longer spans read nothing more useful than the hourly rows' retention holds.
MAX_SPAN = timedelta(days=800)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class BadRange(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Window:
    """Points from start (inclusive) to end (exclusive), one every step, aligned to step."""

    start: datetime
    end: datetime
    step: timedelta

    @property
    def hourly(self) -> bool:
        return self.step >= HOUR

    def slot(self, moment: datetime) -> datetime:
        """The start of the point moment falls in."""
        return floor(moment, self.step)

    def slots(self) -> list[datetime]:
        count = int((self.end - self.start) / self.step)
        return [self.start + i * self.step for i in range(count)]


def floor(moment: datetime, step: timedelta) -> datetime:
    return EPOCH + ((moment - EPOCH) // step) * step


def minute_cutoff(now: datetime) -> datetime:
    """Before this, calls are kept by the hour only."""
    return floor(now - timedelta(days=settings.MONITOR_RAW_RETENTION_DAYS), HOUR)


def step_for(start: datetime, end: datetime, now: datetime) -> timedelta:
    span = end - start
    # Minute buckets up to a day; beyond, hours (and days past a month), as the roll-ups are kept.
    fits = [step for step in STEPS if span / step <= MAX_POINTS and (step >= HOUR or span <= DAY)]
    step = fits[0] if fits else STEPS[-1]
    if step < HOUR and start < minute_cutoff(now):
        step = HOUR
    return step


def aligned(start: datetime, end: datetime, now: datetime) -> Window:
    step = step_for(start, end, now)
    first = floor(start, step)
    # The point holding `end` is included when end is not on a step boundary.
    last = floor(end, step) if floor(end, step) == end else floor(end, step) + step
    return Window(first, max(last, first + step), step)


def window(
    range_: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    minutes: int | None = None,
    now: datetime | None = None,
) -> Window:
    """The window a series request asks for; BadRange names the parameter that is wrong."""
    now = now or timezone.now()
    if start is not None or end is not None:
        return between(start, end, now)
    if range_ is not None:
        span = RANGES[range_]
        step = step_for(now - span, now, now)
        return ending_now(int(span / step), step, now)
    # The first API: `minutes` whole minutes.
    return ending_now(minutes or 60, STEPS[0], now)


def ending_now(count: int, step: timedelta, now: datetime) -> Window:
    """count points of step, the one holding now last."""
    current = floor(now, step)
    return Window(current - (count - 1) * step, current + step, step)


def between(start: datetime | None, end: datetime | None, now: datetime) -> Window:
    if start is None:
        raise BadRange("from", "is needed with to")
    end = end or now
    for field, moment in (("from", start), ("to", end)):
        if moment.tzinfo is None:
            raise BadRange(field, "needs a UTC offset, e.g. 2026-11-22T10:00:00Z")
    if end <= start:
        raise BadRange("to", "must be after from")
    if end - start > MAX_SPAN:
        raise BadRange("from", f"a range spans at most {MAX_SPAN.days} days")
    return aligned(start, end, now)
