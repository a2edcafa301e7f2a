from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import Field

from alerts.models import Metric
from monitoring.schemas import Error  # noqa: F401  (one error shape for the whole API)

MetricName = Literal[tuple(Metric.values)]  # type: ignore[valid-type]
OpName = Literal[">", ">=", "<", "<="]
SeverityName = Literal["critical", "high", "medium", "low"]
Pattern = str


class RuleRef(Schema):
    id: int
    name: str


class AlertOut(Schema):
    id: int
    rule: RuleRef
    service: str
    subject: str
    metric: str
    severity: str
    state: str
    suppressed_until: datetime | None
    started_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    value: float | None
    threshold: float
    summary: str


class EventOut(Schema):
    at: datetime
    actor: str
    action: str
    detail: str


class DeliveryOut(Schema):
    id: int
    alert_id: int | None
    channel: str
    channel_id: int
    kind: str
    event: str
    state: str
    attempts: int
    last_error: str
    next_attempt_at: datetime | None
    sent_at: datetime | None
    created: datetime


class AlertDetail(AlertOut):
    timeline: list[EventOut]
    deliveries: list[DeliveryOut]


class AcknowledgeIn(Schema):
    reason: str = Field("", max_length=1000)
    remind_after_minutes: int | None = Field(None, ge=1, le=7 * 24 * 60)


class SuppressIn(Schema):
    minutes: int = Field(..., ge=1, le=30 * 24 * 60)
    comment: str = Field("", max_length=500)


class CommentIn(Schema):
    text: str = Field(..., min_length=1, max_length=5000)


class ResolveIn(Schema):
    comment: str = Field("", max_length=1000)


class RuleIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    enabled: bool = True
    metric: MetricName
    op: OpName = ">"
    threshold: float
    resolve_threshold: float | None = None
    window_minutes: int = Field(5, ge=1, le=1440)
    min_calls: int = Field(0, ge=0, le=1_000_000)
    for_seconds: int = Field(0, ge=0, le=7 * 24 * 3600)
    severity: SeverityName = "high"
    service: Pattern = Field("*", min_length=1, max_length=200)
    subject: Pattern = Field("*", min_length=1, max_length=200)
    channels: list[int] = []
    cooldown_minutes: int = Field(60, ge=0, le=7 * 24 * 60)


class RulePatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=200)
    enabled: bool | None = None
    metric: MetricName | None = None
    op: OpName | None = None
    threshold: float | None = None
    resolve_threshold: float | None = None
    window_minutes: int | None = Field(None, ge=1, le=1440)
    min_calls: int | None = Field(None, ge=0, le=1_000_000)
    for_seconds: int | None = Field(None, ge=0, le=7 * 24 * 3600)
    severity: SeverityName | None = None
    service: Pattern | None = Field(None, min_length=1, max_length=200)
    subject: Pattern | None = Field(None, min_length=1, max_length=200)
    channels: list[int] | None = None
    cooldown_minutes: int | None = Field(None, ge=0, le=7 * 24 * 60)


class RuleOut(Schema):
    id: int
    name: str
    enabled: bool
    metric: str
    op: str
    threshold: float
    resolve_threshold: float | None
    window_minutes: int
    min_calls: int
    for_seconds: int
    severity: str
    service: str
    subject: str
    channels: list[int]
    cooldown_minutes: int
    created: datetime
    updated: datetime


class RuleDetail(RuleOut):
    history: list[EventOut]


class ChannelIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    kind: str
    config: dict = {}
    rate_per_minute: int | None = Field(None, ge=1, le=10_000)
    enabled: bool = True


class ChannelPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    config: dict | None = None
    rate_per_minute: int | None = Field(None, ge=1, le=10_000)
    enabled: bool | None = None


class ChannelOut(Schema):
    id: int
    name: str
    kind: str
    config: dict
    rate_per_minute: int | None
    enabled: bool
    disabled_at: datetime | None
    disabled_reason: str
    created: datetime


class SilenceIn(Schema):
    service: Pattern = Field("*", min_length=1, max_length=200)
    subject: Pattern = Field("*", min_length=1, max_length=200)
    rule: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    minutes: int | None = Field(None, ge=1, le=366 * 24 * 60)
    comment: str = Field("", max_length=500)


class SilenceOut(Schema):
    id: int
    service: str
    subject: str
    rule: int | None
    fingerprint: str
    starts_at: datetime
    ends_at: datetime
    comment: str
    created_by: str | None
    created: datetime
    active: bool
