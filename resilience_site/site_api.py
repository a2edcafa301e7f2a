"""Endpoints that compose the apps: the overview and the monitor's own status."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from monitoring.auth import user_auth
from monitoring.schemas import FunctionOut
from monitoring.shared import MAX_AGE_HELP, NEWER_THAN_HELP, shared_answer

from . import status as monitor_status
from .overview import overview_figures
from .schemas import StatusOut

router = Router(tags=["overview"])


class QueueGrowing(Schema):
    id: int
    service: str
    name: str
    growth: int


class Overview(Schema):
    functions: int
    calls_5m: int
    success_rate_5m: float | None
    calls_1h: int
    success_rate_1h: float | None
    p95_ms_5m: float | None
    open_breakers: int
    stale_functions: int = Field(description="functions that have not reported for MONITOR_STALE_AFTER_S")
    queues_backing_up: list[QueueGrowing]
    firing_alerts: int
    trouble: list[FunctionOut]
    computed_at: float = Field(description="when this answer was computed (epoch seconds)")


@router.get("/overview", auth=user_auth, response=Overview)
def get_overview(
    request: HttpRequest,
    max_age: int = Query(0, ge=0, le=10, description=MAX_AGE_HELP),
    newer_than: float | None = Query(None, description=NEWER_THAN_HELP),
) -> dict:
    return shared_answer(request, max_age, newer_than, overview_figures, Overview)


@router.get("/status", auth=None, response={200: StatusOut, 503: StatusOut})
def get_status(request: HttpRequest) -> Status:
    parts = monitor_status.check()
    return Status(200 if parts["database"]["ok"] else 503, parts)
