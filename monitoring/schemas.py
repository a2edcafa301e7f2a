from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import Field


class Error(Schema):
    detail: str
    field: str = ""


class BreakerOut(Schema):
    state: str | None
    open: int
    half_open: int
    closed: int
    instances: int
    since: datetime | None
    stale: int = Field(description="instances that stopped reporting: their state is unknown, not counted above")
    text: str


class FunctionOut(Schema):
    id: int
    service: str
    name: str
    health: str
    breaker: BreakerOut
    calls_5m: int
    error_rate_5m: float | None
    p95_ms_5m: float | None
    last_seen: datetime | None
    recent_outcomes: list[str]


class FunctionPage(Schema):
    items: list[FunctionOut]
    count: int
    computed_at: float = Field(description="when this answer was computed (epoch seconds)")


class FlipOut(Schema):
    instance: str
    old_state: str
    new_state: str
    at: datetime


class ConcurrencyOut(Schema):
    instance: str
    active: int
    limit: int
    queued: int
    at: datetime


class FunctionDetail(FunctionOut):
    breaker_instances: list[dict]
    breaker_flips: list[FlipOut]
    concurrency: list[ConcurrencyOut]


class MinutePoint(Schema):
    minute: datetime
    calls: int
    success: int
    failure: int
    timeout: int
    rejected: int
    retries: int
    retries_per_call: float | None
    error_rate: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    avg_ms: float | None
    max_ms: float | None


class Series(Schema):
    minutes: int = Field(description="the span of the series in minutes")
    start: datetime = Field(alias="from", description="the first point's start")
    end: datetime = Field(alias="to", description="the end of the last point (exclusive)")
    step_s: int = Field(description="seconds per point: 60, 300, 900, 3600 or 86400")
    points: list[MinutePoint] = Field(description="one per step; `minute` is the point's start")
    totals: MinutePoint = Field(description="the whole range as one point")
