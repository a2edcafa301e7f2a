"""Items as the ingest API takes them, checked first: a bad one raises ValueError here
instead of spoiling a whole batch with a 422 later."""

from __future__ import annotations

import math
from datetime import UTC, datetime

OUTCOMES = ("success", "failure", "timeout", "rejected")
BREAKER_STATES = ("closed", "open", "half_open")
MAX_NAME = 200
MAX_RETRIES = 1000

Timestamp = datetime | float | None


def iso(ts: Timestamp = None) -> str:
    """ISO 8601 in UTC from now, an aware or naive-UTC datetime, or epoch seconds."""
    if ts is None:
        moment = datetime.now(UTC)
    elif isinstance(ts, datetime):
        moment = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    else:
        moment = datetime.fromtimestamp(float(ts), UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def name(value: object) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_NAME or not value.isprintable():
        raise ValueError(f"a name must be 1 to {MAX_NAME} printable characters, not {value!r}")
    return value


def count(value: object) -> int:
    number = int(value)  # type: ignore[call-overload]
    if number < 0:
        raise ValueError(f"a count must not be negative, not {value!r}")
    return number


def seconds(value: object) -> float:
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"must be a finite number >= 0, not {value!r}")
    return number


def one_of(value: object, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"must be one of {', '.join(choices)}, not {value!r}")
    return str(value)


def call(function: str, duration_ms: float, outcome: str, error_type: str | None, retries: int, ts: Timestamp) -> dict:
    item = {
        "function": name(function),
        "ts": iso(ts),
        "duration_ms": seconds(duration_ms),
        "outcome": one_of(outcome, OUTCOMES),
    }
    if error_type:
        item["error_type"] = name(str(error_type)[:MAX_NAME])
    if retries:
        item["retries"] = min(count(retries), MAX_RETRIES)
    return item


def breaker(function: str, state: str, ts: Timestamp) -> dict:
    return {"function": name(function), "state": one_of(state, BREAKER_STATES), "ts": iso(ts)}


def concurrency(function: str, active: int, limit: int, queued: int, ts: Timestamp) -> dict:
    return {
        "function": name(function),
        "active": count(active),
        "limit": count(limit),
        "queued": count(queued),
        "ts": iso(ts),
    }


def queue(queue: str, depth: int, in_flight: int, dead_letter: int, oldest_age_s: float | None, ts: Timestamp) -> dict:
    item = {
        "queue": name(queue),
        "ts": iso(ts),
        "depth": count(depth),
        "in_flight": count(in_flight),
        "dead_letter": count(dead_letter),
    }
    if oldest_age_s is not None:
        item["oldest_age_s"] = seconds(oldest_age_s)
    return item
