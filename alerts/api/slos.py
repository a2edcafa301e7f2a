"""SLOs: read (every role), configure (admin). Writes go through alerts.slo_changes, as the
pages' do; reads through alerts.slo_read."""

# No `from __future__ import annotations`: ninja resolves the annotations of a decorated
# view (@paginate) in the decorator's module, where these names are unknown.

from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from alerts import slo_changes, slo_read
from monitoring.auth import acting_on, project_for_new, user_auth
from monitoring.paging import Rows, ShortPagination
from monitoring.projects import get_visible_or_404, scoped
from monitoring.schemas import errors

from .slo_schemas import BudgetPointOut, SLOIn, SLOOut

router = Router(tags=["slos"])


@router.get("/slos", auth=user_auth, response={200: list[SLOOut], **errors(401, 422, 503)})
@paginate(ShortPagination)
def list_slos(request: HttpRequest) -> Rows:
    """Each SLO with its budget left, burn rate over the last hour, state and alert windows."""
    return Rows(scoped(slo_read.listed(), request.user), lambda page: [slo_read.slo_out(slo) for slo in page])


@router.post("/slos", auth=user_auth, response={201: SLOOut, **errors(400, 401, 403, 413, 422, 503)})
def create_slo(request: HttpRequest, payload: SLOIn) -> Status:
    """`burn_alerts` left out: the defaults (fast 14.4x over 1 h and 5 min, medium 6x over 6 h
    and 30 min, slow 1x over 3 days and 6 h)."""
    project = project_for_new(request, payload.project)
    slo = slo_changes.create(request.user, payload.model_dump(), project)
    return Status(201, slo_read.slo_out(slo))


@router.get("/slos/{slo_id}", auth=user_auth, response={200: SLOOut, **errors(401, 404, 422, 503)})
def get_slo(request: HttpRequest, slo_id: int) -> dict:
    """Budget left over the window, burn rates per alert window and each alert's state."""
    return slo_read.slo_out(get_visible_or_404(slo_read.listed(), request.user, id=slo_id))


@router.get("/slos/{slo_id}/budget", auth=user_auth, response={200: list[BudgetPointOut], **errors(401, 404, 422, 503)})
def get_slo_budget(request: HttpRequest, slo_id: int) -> list[dict]:
    """The budget left through the SLO window, one point an hour; the last one is now."""
    return slo_read.budget_series(get_visible_or_404(slo_read.listed(), request.user, id=slo_id))


@router.put("/slos/{slo_id}", auth=user_auth, response={200: SLOOut, **errors(400, 401, 403, 404, 413, 422, 503)})
def replace_slo(request: HttpRequest, slo_id: int, payload: SLOIn) -> dict:
    """Every field as given; `enabled: false` resolves its open alerts."""
    slo = acting_on(request, slo_read.listed(), "admin", id=slo_id)
    return slo_read.slo_out(slo_changes.update(slo, request.user, payload.model_dump()))


@router.delete("/slos/{slo_id}", auth=user_auth, response={204: None, **errors(401, 403, 404, 422, 503)})
def delete_slo(request: HttpRequest, slo_id: int) -> Status:
    """Resolves its open alerts (they stay, with their timelines), then deletes it."""
    slo_changes.delete(acting_on(request, slo_read.listed(), "admin", id=slo_id), request.user)
    return Status(204, None)
