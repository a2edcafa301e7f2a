"""Alerts: read (viewer), act (responder)."""

# No `from __future__ import annotations`: ninja resolves the annotations of a decorated
# view (@paginate, @shared) in the decorator's module, where these names are unknown.

from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.pagination import paginate

from alerts import lifecycle, read
from alerts.lifecycle import NotApplicable
from alerts.models import Alert
from monitoring.auth import require_role, user_auth
from monitoring.paging import Rows, ShortPagination
from monitoring.projects import project_of
from monitoring.schemas import errors

from .schemas import AcknowledgeIn, AlertDetail, AlertOut, CommentIn, EventOut, ResolveIn, SuppressIn

router = Router(tags=["alerts"])
# An action with a body; one without (unacknowledge) cannot get a body's 400 and 413.
ACTION_ERRORS = errors(400, 401, 403, 404, 409, 413, 422, 503)


def get_alert_for(request: HttpRequest, alert_id: int, role: str = "viewer") -> Alert:
    """An alert of the caller's projects (else 404) on which they have at least role in its
    project (else 403)."""
    alert = read.get_alert(alert_id, request.user)
    require_role(request, role, project_of(alert))
    return alert


def refuse(alert: Alert, action: str) -> NotApplicable:
    return NotApplicable(f"cannot {action} an alert that is {alert.state}")


@router.get("/alerts", auth=user_auth, response={200: list[AlertOut], **errors(401, 422, 503)})
@paginate(ShortPagination)
def list_alerts(request: HttpRequest, filters: Query[read.AlertFilters]) -> Rows:
    return read.find_alerts(request.user, filters.state, filters.service)


@router.get("/alerts/{alert_id}", auth=user_auth, response={200: AlertDetail, **errors(401, 404, 422, 503)})
def get_alert(request: HttpRequest, alert_id: int) -> dict:
    return read.alert_detail(alert_id, request.user)


@router.post("/alerts/{alert_id}/acknowledge", auth=user_auth, response={200: AlertDetail, **ACTION_ERRORS})
def acknowledge_alert(request: HttpRequest, alert_id: int, payload: AcknowledgeIn | None = None) -> dict:
    alert = get_alert_for(request, alert_id, "responder")
    payload = payload or AcknowledgeIn()
    if not lifecycle.acknowledge(alert, request.user, payload.reason, payload.remind_after_minutes):
        raise refuse(alert, "acknowledge")
    return read.alert_detail(alert_id, request.user)


@router.post(
    "/alerts/{alert_id}/unacknowledge",
    auth=user_auth,
    response={200: AlertDetail, **errors(401, 403, 404, 409, 422, 503)},
)
def unacknowledge_alert(request: HttpRequest, alert_id: int) -> dict:
    alert = get_alert_for(request, alert_id, "responder")
    if not lifecycle.unacknowledge(alert, request.user):
        raise refuse(alert, "unacknowledge")
    return read.alert_detail(alert_id, request.user)


@router.post("/alerts/{alert_id}/resolve", auth=user_auth, response={200: AlertDetail, **ACTION_ERRORS})
def resolve_alert(request: HttpRequest, alert_id: int, payload: ResolveIn | None = None) -> dict:
    alert = get_alert_for(request, alert_id, "responder")
    if not lifecycle.resolve(alert, actor=request.user, comment=(payload or ResolveIn()).comment):
        raise refuse(alert, "resolve")
    return read.alert_detail(alert_id, request.user)


@router.post("/alerts/{alert_id}/suppress", auth=user_auth, response={200: AlertDetail, **ACTION_ERRORS})
def suppress_alert(request: HttpRequest, alert_id: int, payload: SuppressIn) -> dict:
    alert = get_alert_for(request, alert_id, "responder")
    if not lifecycle.suppress(alert, request.user, payload.minutes, payload.comment):
        raise refuse(alert, "suppress")
    return read.alert_detail(alert_id, request.user)


@router.post("/alerts/{alert_id}/comment", auth=user_auth, response={201: EventOut, **ACTION_ERRORS})
def comment_alert(request: HttpRequest, alert_id: int, payload: CommentIn) -> Status:
    alert = get_alert_for(request, alert_id, "responder")
    return Status(201, read.event_out(lifecycle.comment(alert, request.user, payload.text)))
