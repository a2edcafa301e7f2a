"""Endpoints that compose the apps: the overview and the monitor's own status."""

# No `from __future__ import annotations`: ninja resolves the annotations of a decorated
# view (@paginate, @shared) in the decorator's module, where these names are unknown.

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from monitoring.auth import user_auth
from monitoring.schemas import FunctionOut, errors
from monitoring.shared import COMPUTED_AT_HELP, Sharing, shared

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
    computed_at: float = Field(description=COMPUTED_AT_HELP)


@router.get("/overview", auth=user_auth, response={200: Overview, **errors(401, 422, 503)})
@shared(Overview)
def get_overview(request: HttpRequest, sharing: Query[Sharing]) -> dict:
    """The overview's figures, of the projects the caller may see."""
    return overview_figures(request.user)


@router.get("/status", auth=None, response={200: StatusOut, 503: StatusOut})
def get_status(request: HttpRequest) -> Status:
    parts = monitor_status.check()
    return Status(200 if parts["database"]["ok"] else 503, parts)
