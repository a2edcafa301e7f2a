"""The ingest batch, validated with plain pydantic models (ten times faster than ninja.Schema).

Every per-item check runs inside pydantic's compiled validators (a pattern for names), none
calls back into Python per item: the time window is checked once for the whole batch after
parsing (`check_window`), which also finds a window error that comes before pydantic's first
error, so a 422 still names the first bad item.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Annotated, ClassVar, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, WithJsonSchema
from pydantic_core import from_json

MAX_AGE = timedelta(hours=24)
MAX_AHEAD = timedelta(minutes=5)
MAX_DURATION_MS = 24 * 3600 * 1000.0
MAX_COUNT = 10_000_000


# str.isprintable() as a pattern: no character of the Unicode categories Other (control,
# format, surrogate, private use, unassigned) or Separator, but the ASCII space. Checked
# against isprintable() for every code point: the same answer for every character Python's
# Unicode database knows; characters assigned since (the pattern's tables are newer) are taken.
PRINTABLE = r"^(?:[^\p{C}\p{Z}]| )*$"
NOT_PRINTABLE = "must not contain control characters"


def printable(max_length: int) -> object:
    """A 1 to max_length character string of printable characters (published without the
    pattern, whose Unicode classes not every JSON Schema tool reads)."""
    return Annotated[
        str,
        Field(min_length=1, max_length=max_length, pattern=PRINTABLE),
        WithJsonSchema({"type": "string", "minLength": 1, "maxLength": max_length}),
    ]


Name = printable(200)
Timestamp = AwareDatetime  # within the accepted window: check_window(), once a batch
Count = Annotated[int, Field(ge=0, le=MAX_COUNT, strict=True)]


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class CallFields(Item):
    function: Name
    ts: Timestamp
    duration_ms: Annotated[float, Field(ge=0, le=MAX_DURATION_MS, strict=True)]
    outcome: Literal["success", "failure", "timeout", "rejected"]
    error_type: Name | None = None
    retries: Annotated[int, Field(ge=0, le=1000, strict=True)] = 0


class Call(CallFields):
    """One call, as the JSON contract reports it."""

    count: ClassVar[int] = 1


class CountedCall(CallFields):
    """count calls alike (function, time, latency, outcome): what an OTLP histogram point
    stands for. Not part of the JSON contract, whose entries are one call each."""

    count: Annotated[int, Field(ge=1, strict=True)] = 1


AnyCall = Call | CountedCall  # what the folds take: call.count calls each


class BreakerReport(Item):
    function: Name
    state: Literal["closed", "open", "half_open"]
    ts: Timestamp


class ConcurrencyReport(Item):
    function: Name
    active: Count
    limit: Count
    queued: Count = 0
    ts: Timestamp


class QueueReport(Item):
    queue: Name
    ts: Timestamp
    depth: Count
    in_flight: Count = 0
    dead_letter: Count = 0
    oldest_age_s: Annotated[float, Field(ge=0, le=365 * 24 * 3600, strict=True)] | None = None


class Batch(Item):
    batch_id: printable(255) | None = None
    instance: Name | None = None
    calls: list[Call] = []
    breakers: list[BreakerReport] = []
    concurrency: list[ConcurrencyReport] = []
    queues: list[QueueReport] = []

    def digest(self) -> str:
        """SHA-256 of what the batch says, batch_id left out (it is a key, not content).

        The same batch written with other key order or spacing has the same digest. vars() of
        a model is its fields in declaration order, at a third of model_dump()'s cost.
        """
        content = {
            name: [vars(item) for item in value] if isinstance(value, list) else value
            for name, value in vars(self).items()
            if name != "batch_id"
        }
        return hashlib.sha256(orjson.dumps(content)).hexdigest()

    def counts(self) -> dict[str, int]:
        return {
            "calls": len(self.calls),
            "breakers": len(self.breakers),
            "concurrency": len(self.concurrency),
            "queues": len(self.queues),
        }


class CountedBatch(Batch):
    """A batch whose call entries may each stand for many calls (the OTLP path builds these)."""

    calls: list[CountedCall] = []

    def counts(self) -> dict[str, int]:
        return {**super().counts(), "calls": sum(call.count for call in self.calls)}


ITEM_MODELS = {"calls": Call, "breakers": BreakerReport, "concurrency": ConcurrencyReport, "queues": QueueReport}


def error_path(loc: tuple) -> str:
    """('calls', 17, 'duration_ms') -> 'calls[17].duration_ms'"""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def first_error(error: ValidationError) -> tuple[str, str]:
    detail = error.errors(include_url=False)[0]
    if detail["type"] == "string_pattern_mismatch":
        return error_path(detail["loc"]), NOT_PRINTABLE
    return error_path(detail["loc"]), detail["msg"].removeprefix("Value error, ")


KINDS = ("calls", "breakers", "concurrency", "queues")  # in the order pydantic validates them


class OutsideWindow(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def window_error(ts: datetime, now: datetime) -> str | None:
    if ts < now - MAX_AGE:
        return "is more than 24 hours in the past"
    if ts > now + MAX_AHEAD:
        return "is more than 5 minutes in the future"
    return None


def check_window(batch: Batch) -> None:
    """Raise OutsideWindow for the first item dated outside the accepted window; the others'
    times are kept in UTC (so the batch's digest does not depend on the offsets written).

    A kind's items are checked by their oldest and newest time, each item only when one of
    those is out: a third of the cost of asking window_error of every item.
    """
    now = datetime.now(UTC)
    for kind in KINDS:
        items = getattr(batch, kind)
        if not items:
            continue
        times = [item.ts for item in items]
        if window_error(min(times), now) or window_error(max(times), now):
            for i, ts in enumerate(times):
                if message := window_error(ts, now):
                    raise OutsideWindow(f"{kind}[{i}].ts", message)
        for item, ts in zip(items, times, strict=True):
            if ts.utcoffset():
                item.ts = ts.astimezone(UTC)


_timestamp = TypeAdapter(AwareDatetime)


def window_error_before(body: bytes, loc: tuple) -> tuple[str, str] | None:
    """For a batch pydantic refused at loc: the first item before loc (or loc's own item, when
    its ts comes first) dated outside the window, which a 422 must name instead."""
    if len(loc) < 2 or loc[0] not in KINDS or not isinstance(loc[1], int):
        return None
    raw = from_json(body)  # the parser pydantic used (it takes NaN, which orjson refuses)
    if not isinstance(raw, dict):
        return None
    now = datetime.now(UTC)
    for kind in KINDS[: KINDS.index(loc[0]) + 1]:
        items = raw.get(kind) or []
        last = loc[1] if kind == loc[0] else len(items) - 1
        for i, item in enumerate(items[: last + 1]):
            if i == loc[1] and kind == loc[0]:
                fields = list(ITEM_MODELS[kind].model_fields)
                if len(loc) < 3 or loc[2] not in fields or fields.index(loc[2]) <= fields.index("ts"):
                    return None
            try:
                ts = _timestamp.validate_json(orjson.dumps(item["ts"]))
            except (ValidationError, KeyError, TypeError):
                return None  # not a valid time: pydantic's own error comes first
            if message := window_error(ts, now):
                return f"{kind}[{i}].ts", message
    return None
