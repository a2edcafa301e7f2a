"""The range a page's charts and tables show, as its URL names it (shareable): a named range
(`?range=7d`) or a custom one (`?from=...&to=...`, ISO 8601 with an offset, as a zoom or the
custom form writes it). What cannot be read falls back to the named range (the last hour
unless the URL names another) with a message saying why, for the page to show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.http import QueryDict
from django.utils import timezone

from . import ranges

# The chart's ranges, what they read as, and how often an open page re-reads its series.
CHART_RANGES = [
    ("1h", "Last hour", 2_000),
    ("6h", "6 hours", 10_000),
    ("24h", "24 hours", 30_000),
    ("7d", "7 days", 60_000),
    ("30d", "30 days", 300_000),
]
CUSTOM = "custom"
# "+01:00" in a URL someone typed reads as " 01:00": taken for what was meant.
SPACED_OFFSET = re.compile(r" (\d\d:?\d\d)$")


@dataclass(frozen=True)
class PageRange:
    name: str  # one of CHART_RANGES, or CUSTOM
    label: str
    every_ms: int
    start: datetime | None = None  # a custom range's
    end: datetime | None = None
    back: str = CHART_RANGES[0][0]  # the named range a custom one came from (for "Reset zoom")
    error: str | None = None  # why the URL's range could not be read

    @property
    def custom(self) -> bool:
        return self.name == CUSTOM

    @property
    def query(self) -> str:
        """The range as a query string, for the series API and the page's fragments."""
        if not self.custom:
            return urlencode({"range": self.name})
        return urlencode({"from": self.start.isoformat(), "to": self.end.isoformat()})

    def window(self, now: datetime | None = None) -> ranges.Window:
        """The points the series API answers for this range."""
        if self.custom:
            return ranges.window(start=self.start, end=self.end, now=now)
        return ranges.window(self.name, now=now)

    def span(self, now: datetime) -> tuple[datetime, datetime]:
        """The moments the range covers, to now at most (a breaker's history has no future)."""
        if self.custom:
            return self.start, min(self.end, now)
        return now - ranges.RANGES[self.name], now


def named(name: str, error: str | None = None) -> PageRange:
    _, label, every_ms = next((r for r in CHART_RANGES if r[0] == name), CHART_RANGES[0])
    return PageRange(name if name in ranges.RANGES else CHART_RANGES[0][0], label, every_ms, error=error)


def page_range(query: QueryDict, now: datetime | None = None, default: str = CHART_RANGES[0][0]) -> PageRange:
    """The range the page's URL names; the default (the last hour unless the page says) when
    it names none."""
    asked = query.get("range") or default
    if asked not in ranges.RANGES:
        known = ", ".join(name for name, _, _ in CHART_RANGES)
        return named(default, f"range: “{asked}” is not one of {known}; showing {showing(default)}.")
    if not query.get("from") and not query.get("to"):
        return named(asked)
    try:
        start, end = custom(query.get("from"), query.get("to"), now or timezone.now())
    except ranges.BadRange as error:
        return named(asked, f"{error.field}: {error.message}; showing {showing(asked)}.")
    return PageRange(CUSTOM, "Custom range", every_ms(end - start), start, end, back=asked)


def showing(name: str) -> str:
    """A named range in a sentence: "the last hour", "the last 7 days"."""
    return "the last hour" if name == "1h" else f"the last {named(name).label.lower()}"


def custom(start_text: str | None, end_text: str | None, now: datetime) -> tuple[datetime, datetime]:
    if not start_text:
        raise ranges.BadRange("from", "is needed with to")
    start = moment("from", start_text)
    end = moment("to", end_text) if end_text else now
    if start >= now:
        raise ranges.BadRange("from", "must be in the past")
    ranges.between(start, end, now)  # the series' rules: an offset, to after from, a bounded span
    return start, end


def moment(field: str, text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(SPACED_OFFSET.sub(r"+\1", text.strip()))
    except ValueError:
        raise ranges.BadRange(field, f"“{text[:40]}” is not a time in ISO 8601, e.g. 2026-11-22T10:00:00Z") from None
    if parsed.tzinfo is None:
        raise ranges.BadRange(field, "needs a UTC offset, e.g. 2026-11-22T10:00:00Z")
    return parsed


def every_ms(span: timedelta) -> int:
    """How often an open page re-reads a custom range: as the named range at least as long."""
    return next((ms for name, _, ms in CHART_RANGES if span <= ranges.RANGES[name]), CHART_RANGES[-1][2])
