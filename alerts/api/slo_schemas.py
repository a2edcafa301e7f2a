"""The SLO endpoints' shapes: SLOIn (create and replace, also what the page form parses
into), SLOOut, and the budget's points."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import Field

from alerts.models import default_burn_alerts
from monitoring.inputs import Body, Flag, Id, Name, Number, Whole, example

from .schemas import ProjectSlug, SeverityName

WINDOW_DAYS = (7, 30)
LONGEST_ALERT_MINUTES = 30 * 24 * 60


class BurnAlertIn(Body):
    name: Name = Field(..., max_length=40)
    long_minutes: Whole = Field(..., ge=1, le=LONGEST_ALERT_MINUTES)
    short_minutes: Whole = Field(..., ge=1, le=LONGEST_ALERT_MINUTES)
    burn_rate: Number = Field(..., gt=0, le=10_000)
    severity: SeverityName


class SLOIn(Body):
    model_config = example(
        {
            "name": "checkout succeeds",
            "service": "payments",
            "function": "charge",
            "objective": "success",
            "target": 99.9,
            "window_days": 30,
            "channels": [],
        }
    )

    name: Name = Field(..., max_length=200)
    service: Name = Field(..., max_length=100)
    # A function of the service; left out or null: every function of the service.
    function: Name | None = Field(None, max_length=200)
    objective: Literal["success", "latency"] = "success"
    target: Number = Field(..., gt=0, lt=100, description="percent of good calls, e.g. 99.9")
    latency_ms: Number | None = Field(None, gt=0, le=3_600_000, description="latency objective: calls under this")
    window_days: Whole = Field(30, description="7 or 30")
    burn_alerts: list[BurnAlertIn] = Field(
        default_factory=lambda: [BurnAlertIn(**a) for a in default_burn_alerts()], min_length=1, max_length=5
    )
    channels: list[Id] = []
    enabled: Flag = True
    project: ProjectSlug = None


class BurnAlertOut(Schema):
    name: str
    long_minutes: int
    short_minutes: int
    burn_rate: float
    severity: str
    budget_percent: float = Field(description="share of the window's budget this rate spends in the long window")
    long_burn: float | None
    short_burn: float | None
    breaching: bool
    state: str = Field(description="ok, firing or acknowledged")
    alert_id: int | None


class SLOOut(Schema):
    id: int
    name: str
    service: str | None = Field(description="set when the SLO covers every function of the service")
    function: int | None
    scope: str
    objective: str
    objective_text: str
    target: float
    latency_ms: float | None
    window_days: int
    enabled: bool
    channels: list[int]
    good: int
    total: int
    budget_left: float = Field(description="share of the window's error budget left, 1 = all, below 0 = overspent")
    burn_rate: float | None = Field(description="over the last hour; None without calls")
    state: str = Field(description="firing, burning (not yet fired), disabled, no data, exhausted or ok")
    alerts: list[BurnAlertOut]
    created: datetime
    updated: datetime
    project: str = Field(description="the slug of its project (its service's)")


class BudgetPointOut(Schema):
    at: datetime
    budget_left: float
    calls: int
