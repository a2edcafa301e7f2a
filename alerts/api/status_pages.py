"""Status pages (admins): pages, their components, published incidents and their updates.
The public read is not here: /status/<slug>.json (alerts/status_public.py)."""

# No `from __future__ import annotations`: ninja resolves the annotations of a decorated
# view (@paginate) in the decorator's module, where these names are unknown.

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Status
from ninja.pagination import paginate

from alerts import status_pages as changes
from alerts.models import StatusComponent, StatusIncident, StatusPage, StatusUpdate
from monitoring.auth import acting_on, project_for_new, require_role, user_auth
from monitoring.paging import Rows, ShortPagination
from monitoring.projects import scoped
from monitoring.schemas import errors

from .status_schemas import (
    ComponentIn,
    ComponentOut,
    ComponentPatch,
    StatusIncidentIn,
    StatusIncidentOut,
    StatusIncidentPatch,
    StatusPageIn,
    StatusPageOut,
    StatusPagePatch,
    UpdateIn,
    UpdateOut,
)

router = Router(tags=["status pages"])
WRITE_ERRORS = errors(400, 401, 403, 404, 413, 422, 503)
READ_ERRORS = errors(401, 403, 404, 422, 503)


def component_out(component: StatusComponent) -> dict:
    return {
        "id": component.id,
        "service": component.service.name,
        "function": component.function.name if component.function else None,
        "public_name": component.public_name,
        "position": component.position,
    }


def page_out(page: StatusPage) -> dict:
    components = page.components.select_related("service", "function")
    return {
        **{name: getattr(page, name) for name in ("id", "slug", "title", "description", "enabled", "show_figures")},
        "url": f"/status/{page.slug}/",
        "components": [component_out(c) for c in components],
        "created": page.created,
        "updated": page.updated,
        "project": page.project.slug,
    }


def update_out(update: StatusUpdate) -> dict:
    author = update.author.get_username() if update.author else None
    return {"id": update.id, "at": update.at, "state": update.state, "body": update.body, "author": author}


def incident_out(incident: StatusIncident) -> dict:
    updates = incident.updates.select_related("author").order_by("-at", "-id")
    return {
        "id": incident.id,
        "alert": incident.alert_id,
        "title": incident.title,
        "state": incident.state,
        "started_at": incident.started_at,
        "resolved_at": incident.resolved_at,
        "updates": [update_out(u) for u in updates],
    }


def admin_page(request: HttpRequest, page_id: int) -> StatusPage:
    """A status page of the person's projects (else 404) they are an admin of (else 403)."""
    return acting_on(request, StatusPage.objects.select_related("project"), "admin", id=page_id)


@router.get("/status-pages", auth=user_auth, response={200: list[StatusPageOut], **errors(401, 403, 422, 503)})
@paginate(ShortPagination)
def list_status_pages(request: HttpRequest) -> Rows:
    require_role(request, "admin")
    found = scoped(StatusPage.objects.select_related("project"), request.user)
    return Rows(found, lambda page: [page_out(p) for p in page])


@router.post("/status-pages", auth=user_auth, response={201: StatusPageOut, **WRITE_ERRORS})
def create_status_page(request: HttpRequest, payload: StatusPageIn) -> Status:
    project = project_for_new(request, payload.project)
    return Status(201, page_out(changes.create_page(request.user, payload, project)))


@router.get("/status-pages/{page_id}", auth=user_auth, response={200: StatusPageOut, **READ_ERRORS})
def get_status_page(request: HttpRequest, page_id: int) -> dict:
    return page_out(admin_page(request, page_id))


@router.patch("/status-pages/{page_id}", auth=user_auth, response={200: StatusPageOut, **WRITE_ERRORS})
def update_status_page(request: HttpRequest, page_id: int, payload: StatusPagePatch) -> dict:
    return page_out(changes.update_page(request.user, admin_page(request, page_id), payload))


@router.delete("/status-pages/{page_id}", auth=user_auth, response={204: None, **READ_ERRORS})
def delete_status_page(request: HttpRequest, page_id: int) -> Status:
    changes.delete_page(request.user, admin_page(request, page_id))
    return Status(204, None)


@router.post("/status-pages/{page_id}/components", auth=user_auth, response={201: ComponentOut, **WRITE_ERRORS})
def add_component(request: HttpRequest, page_id: int, payload: ComponentIn) -> Status:
    component = changes.add_component(request.user, admin_page(request, page_id), payload)
    return Status(201, component_out(component))


def found_component(request: HttpRequest, page_id: int, component_id: int) -> StatusComponent:
    admin_page(request, page_id)
    chosen = StatusComponent.objects.select_related("page", "service", "function")
    return get_object_or_404(chosen, id=component_id, page_id=page_id)


@router.patch(
    "/status-pages/{page_id}/components/{component_id}", auth=user_auth, response={200: ComponentOut, **WRITE_ERRORS}
)
def update_component(request: HttpRequest, page_id: int, component_id: int, payload: ComponentPatch) -> dict:
    component = changes.change_component(request.user, found_component(request, page_id, component_id), payload)
    return component_out(component)


@router.delete("/status-pages/{page_id}/components/{component_id}", auth=user_auth, response={204: None, **READ_ERRORS})
def remove_component(request: HttpRequest, page_id: int, component_id: int) -> Status:
    changes.remove_component(request.user, found_component(request, page_id, component_id))
    return Status(204, None)


@router.get("/status-pages/{page_id}/incidents", auth=user_auth, response={200: list[StatusIncidentOut], **READ_ERRORS})
@paginate(ShortPagination)
def list_incidents(request: HttpRequest, page_id: int) -> Rows:
    """The page's published incidents, newest first, each with its updates."""
    page = admin_page(request, page_id)
    return Rows(page.incidents.order_by("-started_at", "-id"), lambda found: [incident_out(i) for i in found])


@router.post("/status-pages/{page_id}/incidents", auth=user_auth, response={201: StatusIncidentOut, **WRITE_ERRORS})
def publish_incident(request: HttpRequest, page_id: int, payload: StatusIncidentIn) -> Status:
    """Publish an open or recent alert of the page's components, or an incident written by hand."""
    incident = changes.publish(request.user, admin_page(request, page_id), payload)
    return Status(201, incident_out(incident))


def found_incident(request: HttpRequest, page_id: int, incident_id: int) -> StatusIncident:
    admin_page(request, page_id)
    return get_object_or_404(StatusIncident.objects.select_related("page"), id=incident_id, page_id=page_id)


@router.get(
    "/status-pages/{page_id}/incidents/{incident_id}", auth=user_auth, response={200: StatusIncidentOut, **READ_ERRORS}
)
def get_incident(request: HttpRequest, page_id: int, incident_id: int) -> dict:
    return incident_out(found_incident(request, page_id, incident_id))


@router.patch(
    "/status-pages/{page_id}/incidents/{incident_id}", auth=user_auth, response={200: StatusIncidentOut, **WRITE_ERRORS}
)
def update_incident(request: HttpRequest, page_id: int, incident_id: int, payload: StatusIncidentPatch) -> dict:
    incident = changes.change_incident(request.user, found_incident(request, page_id, incident_id), payload)
    return incident_out(incident)


@router.delete("/status-pages/{page_id}/incidents/{incident_id}", auth=user_auth, response={204: None, **READ_ERRORS})
def delete_incident(request: HttpRequest, page_id: int, incident_id: int) -> Status:
    changes.delete_incident(request.user, found_incident(request, page_id, incident_id))
    return Status(204, None)


@router.post(
    "/status-pages/{page_id}/incidents/{incident_id}/updates",
    auth=user_auth,
    response={201: UpdateOut, **WRITE_ERRORS},
)
def post_update(request: HttpRequest, page_id: int, incident_id: int, payload: UpdateIn) -> Status:
    """A short update; its state becomes the incident's ("resolved" moves it to the past incidents)."""
    update = changes.post_update(request.user, found_incident(request, page_id, incident_id), payload)
    return Status(201, update_out(update))
