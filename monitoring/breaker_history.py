"""The function page's breaker history: a state band per instance over the page's range, and
the transitions a page at a time (the page and its live fragment render the same context)."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.http import QueryDict
from django.utils import timezone
from pydantic import BaseModel, Field, ValidationError

from .breakers_read import DEFAULT_RANGE, FLAPPING, UNKNOWN, Band, Interval, history, instances, transitions
from .inputs import Text
from .page_ranges import page_range
from .paging import MAX_OFFSET
from .ranges import RANGE_PATTERN

BANDS_PER_PAGE = 20
FLIPS_PER_PAGE = 20
QUERY_FIELDS = ("range", "from", "to", "instance", "band_offset", "flip_offset")
# However busy its service, the band is drawn again at most this often (a flip: at once).
REDRAW_EVERY_MS = 10_000
STATE_WORDS = {"closed": "closed", "open": "open", "half_open": "half-open", UNKNOWN: "no data"}


class HistoryQuery(BaseModel):
    range: str = Field(DEFAULT_RANGE, pattern=RANGE_PATTERN)
    # A custom range, kept as the page's URL wrote it (page_ranges reads it).
    from_: str | None = Field(None, alias="from", max_length=100)
    to: str | None = Field(None, max_length=100)
    instance: Text | None = Field(None, max_length=200)
    band_offset: int = Field(0, ge=0, le=MAX_OFFSET)
    flip_offset: int = Field(0, ge=0, le=MAX_OFFSET)

    @classmethod
    def of(cls, query: QueryDict) -> HistoryQuery:
        """The page's query; what does not parse is left at its default."""
        given = {name: query[name] for name in QUERY_FIELDS if query.get(name)}
        try:
            return cls(**given)
        except ValidationError:
            return cls()

    def values(self) -> dict:
        return self.model_dump(by_alias=True)

    def url(self, **changes: object) -> str:
        values = self.values() | changes
        return "?" + urlencode({name: value for name, value in values.items() if value}) + "#breaker-history"


def breaker_history(function_id: int, query: QueryDict, now: datetime | None = None) -> dict:
    """What the page's breaker part shows for the range (and filters) its query names."""
    asked = HistoryQuery.of(query)
    now = now or timezone.now()
    start, end = page_range(query, now).span(now)
    found, count = history(function_id, start, end, asked.instance, asked.band_offset, BANDS_PER_PAGE, now)
    flips = transitions(function_id, start, end, asked.instance)
    shown = list(flips[asked.flip_offset : asked.flip_offset + FLIPS_PER_PAGE])
    return {
        "query": urlencode({name: value for name, value in asked.values().items() if value}),
        "asked": asked,
        "start": start,
        "end": end,
        "bands": [drawn(band, start, end) for band in found],
        "band_pager": pager(asked, "band_offset", asked.band_offset, len(found), count, BANDS_PER_PAGE),
        "instances": [name for name in instances(function_id) if name],  # "" cannot be asked for
        "range_fields": range_fields(asked),
        "all_instances": asked.url(instance=None, band_offset=0, flip_offset=0),
        "flips": shown,
        "flip_pager": pager(asked, "flip_offset", asked.flip_offset, len(shown), flips.count(), FLIPS_PER_PAGE),
        "every_ms": REDRAW_EVERY_MS,
    }


def range_fields(asked: HistoryQuery) -> list[tuple[str, str]]:
    """The range's query fields, for the instance form to keep."""
    values = asked.values()
    return [(name, values[name]) for name in ("range", "from", "to") if values[name]]


def drawn(band: Band, start: datetime, end: datetime) -> dict:
    """A band as the template draws it: each interval placed in percent of the range."""
    whole = (end - start).total_seconds()
    segments = []
    for interval in band.intervals:
        left = (interval.start - start).total_seconds() / whole * 100
        width = interval.length.total_seconds() / whole * 100
        segments.append(
            {
                "interval": interval,
                "left": f"{left:.3f}",
                "width": f"{width:.3f}",
                "words": words(interval),
                "duration": duration(interval.length),
                # The tip opens towards the middle, so it stays on a phone's screen.
                "tip": tip_side(left + width / 2),
            }
        )
    return {"band": band, "segments": segments}


def tip_side(middle: float) -> str:
    return "tip-left" if middle < 33 else "tip-right" if middle > 67 else "tip-mid"


def words(interval: Interval) -> str:
    if interval.state != FLAPPING:
        return STATE_WORDS.get(interval.state, interval.state)
    states = ", ".join(STATE_WORDS.get(state, state) for state in interval.states)
    return f"flapping: {interval.flips} transition{'s' if interval.flips != 1 else ''} ({states})"


def duration(length: timedelta) -> str:
    seconds = int(length.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    minutes, hours, days = seconds // 60 % 60, seconds // 3600 % 24, seconds // 86400
    parts = [(days, "d"), (hours, "h"), (minutes, "min")]
    shown = [f"{value} {unit}" for value, unit in parts if value]
    return " ".join(shown[:2])


def pager(asked: HistoryQuery, name: str, offset: int, shown: int, count: int, size: int) -> dict:
    end = offset + shown
    return {
        "start": offset + 1 if shown else 0,
        "end": end,
        "count": count,
        "previous": asked.url(**{name: max(0, offset - size)}) if offset else None,
        "next": asked.url(**{name: end}) if end < count else None,
    }
