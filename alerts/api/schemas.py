from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Annotated, Literal
from zoneinfo import available_timezones

from ninja import Schema
from pydantic import AfterValidator, Field

from alerts.models import DAY_NAMES, Metric
from alerts.transports import TRANSPORTS
from monitoring.inputs import Body, Flag, Id, Moment, Name, Number, Text, Whole, example, unchanged

# Not slo_burn_rate: only an SLO keeps a rule measuring that.
MetricName = Literal[tuple(m for m in Metric.values if m != Metric.SLO_BURN_RATE)]  # type: ignore[valid-type]
OpName = Literal[">", ">=", "<", "<="]
SeverityName = Literal["critical", "high", "medium", "low"]
KindName = Literal[tuple(TRANSPORTS)]  # type: ignore[valid-type]
# A glob on service or function names (`*`, `?`, `[ab]`); like a name, more than spaces.
Pattern = Name
GroupByName = Literal["subject", "service"]
LONGEST_COOLDOWN = 7 * 24 * 60
# A create input's project: its slug; none: the current project (docs/projects.md).
ProjectSlug = Annotated[
    str | None, Field(None, max_length=50, description="the slug of its project; default the current project")
]


def at_least_a_minute(minutes: int) -> int:
    # A cooldown of 0 once sent a notice every evaluation round (issue 14): refused, in words.
    if minutes < 1:
        raise ValueError("cooldown_minutes must be at least 1 minute; 0 would notify on every evaluation round")
    return minutes


Cooldown = Annotated[
    Whole, Field(le=LONGEST_COOLDOWN, json_schema_extra={"minimum": 1}), AfterValidator(at_least_a_minute)
]


class RuleRef(Schema):
    id: int
    name: str


class InhibitorOut(Schema):
    """The open alert that explains this one, so this one is not notified."""

    id: int
    rule: str
    service: str
    subject: str
    state: str
    reason: str = Field(description='in words, e.g. "Breaker open on payments/charge"')
    since: datetime | None


class AlertOut(Schema):
    id: int
    rule: RuleRef | None  # None: the rule was deleted
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
    incident_id: int | None  # the incident it belongs to
    flaps: int  # how often its condition cleared and came back while it stayed open
    inhibited_by: InhibitorOut | None = Field(
        description="set while another alert inhibits this one: it is not notified (kept once resolved)"
    )


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


class IncidentOut(Schema):
    id: int
    name: str  # "service/subject", or "service" when its rules group by service
    service: str
    subject: str
    state: str  # open | acknowledged | resolved
    severity: str  # the highest of its alerts'
    started_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    duration_s: int  # open so far, or from start to resolve
    duration: str
    alert_count: int
    open_alerts: int
    flaps: int
    notified_at: datetime | None  # its last notice
    next_notice: str | None  # firing | updated | resolved, waiting for its time
    next_notice_at: datetime | None


class IncidentEventOut(EventOut):
    alert_id: int | None  # None: a line of the incident's own
    alert: str | None  # the alert's rule name


class EscalationStanding(Schema):
    """Where the incident's escalation stands."""

    policy: RuleRef = Field(description="the escalation policy it follows: id and name")
    state: str = Field(description="waiting (for its first notice), running, stopped (acknowledged) or ended")
    step: int | None = Field(description="the step last run, 1 for the first; null before it starts")
    steps: int
    round: int
    rounds: int
    next_at: datetime | None = Field(description="when the next step runs if nobody acknowledges")
    why: str = Field(description='why it stopped or ended, e.g. "acknowledged by bob"; "" while it runs')


class IncidentDetail(IncidentOut):
    alerts: list[AlertOut]
    timeline: list[IncidentEventOut]
    deliveries: list[DeliveryOut]
    escalation: EscalationStanding | None = Field(description="null: it follows no escalation policy")


class AcknowledgeIn(Body):
    model_config = example({"reason": "on it", "remind_after_minutes": 30})

    reason: Text = Field("", max_length=1000)
    remind_after_minutes: Whole | None = Field(None, ge=1, le=7 * 24 * 60)


class SuppressIn(Body):
    model_config = example({"minutes": 60, "comment": "known, fix deploying"})

    minutes: Whole = Field(..., ge=1, le=30 * 24 * 60)
    comment: Text = Field("", max_length=500)


class CommentIn(Body):
    model_config = example({"text": "the card processor says it is their outage"})

    text: Name = Field(..., max_length=5000)


class ResolveIn(Body):
    model_config = example({"comment": "fixed the config"})

    comment: Text = Field("", max_length=1000)


class RuleIn(Body):
    model_config = example(
        {
            "name": "payments errors",
            "metric": "error_rate",
            "op": ">",
            "threshold": 0.2,
            "window_minutes": 5,
            "min_calls": 10,
            "for_seconds": 0,
            "severity": "critical",
            "service": "payments",
            "subject": "*",
            "channels": [],
            "cooldown_minutes": 60,
        }
    )

    name: Name = Field(..., max_length=200)
    enabled: Flag = True
    metric: MetricName
    op: OpName = ">"
    threshold: Number
    resolve_threshold: Number | None = None
    window_minutes: Whole = Field(5, ge=1, le=1440)
    min_calls: Whole = Field(0, ge=0, le=1_000_000)
    for_seconds: Whole = Field(0, ge=0, le=7 * 24 * 3600)
    severity: SeverityName = "high"
    service: Pattern = Field("*", max_length=200)
    subject: Pattern = Field("*", max_length=200)
    channels: list[Id] = []
    cooldown_minutes: Cooldown = 60
    # Which of its alerts share an incident: those on the same subject, or the same service.
    group_by: GroupByName = "subject"
    # The escalation policy its incidents follow (an id), or none.
    escalation_policy: Id | None = None
    project: ProjectSlug = None


class RulePatch(Body):
    """Fields left out stay as they are; only resolve_threshold and escalation_policy can be set to null."""

    model_config = example({"threshold": 0.3, "enabled": False})

    name: Name = unchanged(max_length=200)
    enabled: Flag = unchanged()
    metric: MetricName = unchanged()
    op: OpName = unchanged()
    threshold: Number = unchanged()
    resolve_threshold: Number | None = None
    window_minutes: Whole = unchanged(ge=1, le=1440)
    min_calls: Whole = unchanged(ge=0, le=1_000_000)
    for_seconds: Whole = unchanged(ge=0, le=7 * 24 * 3600)
    severity: SeverityName = unchanged()
    service: Pattern = unchanged(max_length=200)
    subject: Pattern = unchanged(max_length=200)
    channels: list[Id] = unchanged()
    cooldown_minutes: Cooldown = unchanged()
    group_by: GroupByName = unchanged()
    escalation_policy: Id | None = None


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
    group_by: str
    escalation_policy: int | None  # the escalation policy its incidents follow
    project: str = Field(description="the slug of its project")
    created: datetime
    updated: datetime
    firing: int  # its open alerts now (firing or acknowledged)


class RuleDetail(RuleOut):
    history: list[EventOut]


class RuleTemplateOut(Schema):
    key: str
    title: str
    description: str
    # A create body (RuleIn) to start from: change the name, scope and channels, then POST it.
    rule: dict


class PreviewSubject(Schema):
    service: str
    subject: str
    fired: int
    first_at: datetime | None
    last_at: datetime | None


class RulePreviewOut(Schema):
    """What the rule would have done over the last 24 hours of stored data."""

    available: bool  # false: the metric's history is not kept (message says why); nothing was counted
    message: str
    start: datetime
    end: datetime
    step_minutes: int
    fired: int  # transitions into firing, all subjects
    subject_count: int  # subjects that would have fired
    subjects_with_data: int
    subjects: list[PreviewSubject]  # the first 50, most firings first
    notes: list[str]


class ChannelIn(Body):
    model_config = example(
        {
            "name": "ops hook",
            "kind": "webhook",
            "config": {"url": "https://hooks.example.org/monitor", "secret": "a-long-shared-secret-1234"},
        }
    )

    name: Name = Field(..., max_length=100)
    kind: KindName
    config: dict = {}
    rate_per_minute: Whole | None = Field(None, ge=1, le=10_000)
    enabled: Flag = True
    project: ProjectSlug = None


class ChannelPatch(Body):
    """Fields left out stay as they are; only rate_per_minute can be set to null (the default rate)."""

    model_config = example({"name": "ops hook (night)", "rate_per_minute": 10})

    name: Name = unchanged(max_length=100)
    config: dict = unchanged()
    rate_per_minute: Whole | None = Field(None, ge=1, le=10_000)
    enabled: Flag = unchanged()


class ChannelOut(Schema):
    id: int
    name: str
    kind: str
    # Where messages go, with nothing of a secret in it (a Slack URL shows only its host).
    target: str
    # Each secret that is set reads "********"; send it back unchanged to keep it.
    config: dict
    # The config keys holding a secret that is set (reveal one: POST .../reveal).
    secrets: list[str]
    rate_per_minute: int | None
    enabled: bool
    disabled_at: datetime | None
    disabled_reason: str
    created: datetime
    last_delivery_state: str | None
    last_delivery_at: datetime | None
    project: str = Field(description="the slug of its project")


def known_zone(value: str) -> str:
    if value not in zone_names():
        raise ValueError("must be an IANA time zone name, e.g. Europe/Berlin or UTC")
    return value


@cache
def zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


DayName = Literal[DAY_NAMES]  # type: ignore[valid-type]
# Wall-clock time of day, 24-hour: "02:00".
ClockTime = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["02:00"])]
ZoneName = Annotated[str, Field(min_length=1, max_length=64, examples=["Europe/Berlin"]), AfterValidator(known_zone)]


class SilenceIn(Body):
    """A silence (once) or a recurring maintenance window (days and start_time given)."""

    model_config = example(
        {"service": "payments", "subject": "*", "severity": "*", "rule": None, "minutes": 120, "comment": "db upgrade"}
    )

    service: Pattern = Field("*", max_length=200, description="glob on the service name")
    subject: Pattern = Field("*", max_length=200, description="glob on the function or queue name")
    severity: Pattern = Field("*", max_length=20, description="glob on the severity: critical, high, medium, low")
    rule: Id | None = Field(None, description="only this rule's alerts")
    starts_at: Moment | None = Field(None, description="once: when it starts (default now); recurring: from when")
    ends_at: Moment | None = Field(None, description="once: when it ends (or give minutes); recurring: until when")
    minutes: Whole | None = Field(
        None, ge=1, le=366 * 24 * 60, description="once: how long from starts_at; recurring: each window's length"
    )
    days: list[DayName] = Field(default_factory=list, max_length=7, description="recurring: the weekdays it opens")
    start_time: ClockTime | None = Field(None, description="recurring: the local time each window opens, HH:MM")
    time_zone: ZoneName = Field("UTC", description="IANA zone of start_time; pages show its times in it too")
    expire_on_resolve: Flag = Field(False, description="end it once the alerts it held are all resolved")
    comment: Text = Field("", max_length=500)
    project: ProjectSlug = None


class SilenceOut(Schema):
    id: int
    service: str
    subject: str
    severity: str
    rule: int | None
    rule_name: str | None
    fingerprint: str
    starts_at: datetime
    ends_at: datetime | None
    days: list[str]
    start_time: str | None
    minutes: int | None
    time_zone: str
    schedule: str = Field(description='a recurring window in words, e.g. "Sun at 02:00 for 2 h (Europe/Berlin)"')
    expire_on_resolve: bool
    comment: str
    created_by: str | None
    created: datetime
    project: str = Field(description="the slug of its project")
    state: Literal["active", "scheduled", "expired"]
    active: bool
    window_starts_at: datetime | None = Field(description="the window open now, or the next one (null: none to come)")
    window_ends_at: datetime | None


class PreviewAlert(Schema):
    id: int
    rule: RuleRef
    service: str
    subject: str
    severity: str
    state: str
    started_at: datetime
    summary: str


class SilencePreview(Schema):
    count: int = Field(description="open alerts its matchers take in now (at most 100 listed)")
    alerts: list[PreviewAlert]
    state: Literal["active", "scheduled", "expired"] = Field(description="what it would be if created now")
    window_starts_at: datetime | None
    window_ends_at: datetime | None
