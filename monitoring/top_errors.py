"""What failed and why: one function's errors by type over a window, most frequent first.

Error minutes are read where they are kept and hourly roll-ups before that (they never
overlap: a minute is rolled up and deleted in one transaction), so a window crossing the
roll-up boundary adds both up.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db.models import Max, Min, Sum
from django.shortcuts import get_object_or_404
from ninja import Schema
from pydantic import Field

from .models import ErrorHour, ErrorMinute, ErrorType, Function
from .page_ranges import PageRange
from .ranges import Window

TOP = 10


class ErrorTypeOut(Schema):
    name: str
    count: int
    share: float = Field(description="of all the errors in the range, 0 to 1")
    first_seen: datetime = Field(description="its first error in the range")
    last_seen: datetime = Field(description="its last error in the range")


class OtherErrorsOut(Schema):
    count: int = Field(description="errors of the types not listed, and of the types past MONITOR_MAX_ERROR_TYPES")
    share: float
    types: int = Field(description="how many named types are not listed (the types past the cap are not named)")
    past_cap: int = Field(description="errors of types the function reported past MONITOR_MAX_ERROR_TYPES")
    first_seen: datetime | None
    last_seen: datetime | None


class ErrorsOut(Schema):
    start: datetime = Field(alias="from", description="the range's start")
    end: datetime = Field(alias="to", description="the range's end (exclusive)")
    errors: int = Field(description="failed, timed-out and rejected calls in the range")
    types: list[ErrorTypeOut] = Field(description="the most frequent types, most first")
    other: OtherErrorsOut


def counted(function: Function, window: Window) -> dict[str, dict]:
    """{type name: {count, first_seen, last_seen}} over the window, minutes and hours added up."""
    types: dict[str, dict] = {}
    for model, column in ((ErrorMinute, "minute"), (ErrorHour, "hour")):
        rows = (
            model.objects.filter(
                error_type__function=function, **{f"{column}__gte": window.start, f"{column}__lt": window.end}
            )
            .values("error_type__name")
            .annotate(count=Sum("count"), first_seen=Min("first_seen"), last_seen=Max("last_seen"))
            .order_by()
        )
        for row in rows:
            name = row.pop("error_type__name")
            if name in types:
                seen = types[name]
                seen["count"] += row["count"]
                seen["first_seen"] = min(seen["first_seen"], row["first_seen"])
                seen["last_seen"] = max(seen["last_seen"], row["last_seen"])
            else:
                types[name] = row
    return types


def top_errors(function: Function, window: Window, top: int = TOP) -> dict:
    """The top types with their share of errors; the rest, and the types past the cap, as other."""
    types = counted(function, window)
    overflow = types.pop(ErrorType.OTHER, None)
    ranked = sorted(types.items(), key=lambda item: (-item[1]["count"], item[0]))
    listed, rest = ranked[:top], ranked[top:]
    total = sum(row["count"] for row in types.values()) + (overflow["count"] if overflow else 0)
    other = [row for _, row in rest] + ([overflow] if overflow else [])
    other_count = sum(row["count"] for row in other)
    return {
        "from": window.start,
        "to": window.end,
        "errors": total,
        "types": [{"name": name, **row, "share": row["count"] / total} for name, row in listed],
        "other": {
            "count": other_count,
            "share": other_count / total if total else 0.0,
            "types": len(rest),
            "past_cap": overflow["count"] if overflow else 0,
            "first_seen": min((row["first_seen"] for row in other), default=None),
            "last_seen": max((row["last_seen"] for row in other), default=None),
        },
    }


def table(function_id: int, shown: PageRange) -> dict:
    """The "Top errors" table of a function's page, over the range its charts show."""
    function = get_object_or_404(Function, id=function_id)
    return {
        "errors": top_errors(function, shown.window()),
        "errors_range": shown.name,
        "max_types": settings.MONITOR_MAX_ERROR_TYPES,
    }
