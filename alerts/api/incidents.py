"""Incidents: read (viewer), act on the incident and its alerts together (responder)."""

# No `from __future__ import annotations`: ninja resolves the annotations of a decorated
# view (@paginate) in the decorator's module, where these names are unknown.

from django.http import HttpRequest
from ninja import Query, Router
from ninja.pagination import paginate

from alerts import incident_actions, incident_read
from alerts.lifecycle import NotApplicable
from alerts.models import Incident
from monitoring.auth import require_role, user_auth
from monitoring.paging import Rows, ShortPagination
from monitoring.projects import project_of
from monitoring.schemas import errors

from .schemas import AcknowledgeIn, IncidentDetail, IncidentOut, ResolveIn, SuppressIn

router = Router(tags=["incidents"])
ACTION_ERRORS = errors(400, 401, 403, 404, 409, 413, 422, 503)


def get_incident_for(request: HttpRequest, incident_id: int) -> Incident:
    """An incident of the caller's projects (else 404) on which they are at least a responder
    in its project (else 403)."""
    incident = incident_read.get_incident(incident_id, request.user)
    require_role(request, "responder", project_of(incident))
    return incident


def refuse(incident: Incident, action: str) -> NotApplicable:
    return NotApplicable(f"cannot {action} an incident that is {incident.state}")


@router.get("/incidents", auth=user_auth, response={200: list[IncidentOut], **errors(401, 422, 503)})
@paginate(ShortPagination)
def list_incidents(request: HttpRequest, filters: Query[incident_read.IncidentFilters]) -> Rows:
    return incident_read.find_incidents(request.user, filters.state)


@router.get("/incidents/{incident_id}", auth=user_auth, response={200: IncidentDetail, **errors(401, 404, 422, 503)})
def get_incident(request: HttpRequest, incident_id: int) -> dict:
    return incident_read.incident_detail(incident_id, request.user)


@router.post("/incidents/{incident_id}/acknowledge", auth=user_auth, response={200: IncidentDetail, **ACTION_ERRORS})
def acknowledge_incident(request: HttpRequest, incident_id: int, payload: AcknowledgeIn | None = None) -> dict:
    incident = get_incident_for(request, incident_id)
    payload = payload or AcknowledgeIn()
    if not incident_actions.acknowledge(incident, request.user, payload.reason, payload.remind_after_minutes):
        raise refuse(incident, "acknowledge")
    return incident_read.incident_detail(incident_id, request.user)


@router.post("/incidents/{incident_id}/suppress", auth=user_auth, response={200: IncidentDetail, **ACTION_ERRORS})
def suppress_incident(request: HttpRequest, incident_id: int, payload: SuppressIn) -> dict:
    incident = get_incident_for(request, incident_id)
    if not incident_actions.suppress(incident, request.user, payload.minutes, payload.comment):
        raise refuse(incident, "suppress")
    return incident_read.incident_detail(incident_id, request.user)


@router.post("/incidents/{incident_id}/resolve", auth=user_auth, response={200: IncidentDetail, **ACTION_ERRORS})
def resolve_incident(request: HttpRequest, incident_id: int, payload: ResolveIn | None = None) -> dict:
    incident = get_incident_for(request, incident_id)
    if not incident_actions.resolve(incident, request.user, (payload or ResolveIn()).comment):
        raise refuse(incident, "resolve")
    return incident_read.incident_detail(incident_id, request.user)
