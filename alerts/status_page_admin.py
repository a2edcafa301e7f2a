"""The status pages' admin pages: the list, a page's settings (its components, its incidents,
its history), an incident with its updates. Every change goes through alerts/status_pages.py,
as the API's do; forms are parsed into the API's own input schemas."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_http_methods, require_POST

from monitoring import audit
from monitoring.auth import acting_on, page_for
from monitoring.errors import InputError
from monitoring.forms import field_errors, form_values, parse
from monitoring.models import Service
from monitoring.paging import MAX_OFFSET
from monitoring.projects import current_project, scoped
from monitoring.views import page as render_page

from . import status_pages as changes
from .api.status_schemas import ComponentIn, ComponentPatch, StatusIncidentIn, StatusPageIn, StatusPagePatch, UpdateIn
from .models import StatusComponent, StatusIncident, StatusIncidentState, StatusPage

PAGE_SIZE = 50
ALERTS_OFFERED = 50
HISTORY_SHOWN = 50
NEW_PAGE = {"enabled": True, "show_figures": False}
CHECKBOXES = ("enabled", "show_figures")


def as_numbers(values: dict, *names: str) -> dict:
    """A form's whole numbers as the API's JSON numbers ("3" -> 3); other text is left for the
    schema to refuse, naming the field."""
    out = dict(values)
    for name in names:
        text = values.get(name)
        if isinstance(text, str) and text.lstrip("-").isdigit() and len(text) < 20:
            out[name] = int(text)
    return out


def offset_of(request: HttpRequest) -> int:
    given = request.GET.get("offset", "")
    return min(int(given), MAX_OFFSET) if given.isascii() and given.isdigit() else 0


@page_for("admin")
def status_page_list(request: HttpRequest) -> HttpResponse:
    offset = offset_of(request)
    found = scoped(StatusPage.objects.select_related("project"), request.user).annotate(
        component_count=Count("components", distinct=True),
        active_count=Count("incidents", filter=~Q(incidents__state=StatusIncidentState.RESOLVED), distinct=True),
    )
    count = found.count()
    items = list(found[offset : offset + PAGE_SIZE])
    end = offset + len(items)
    pager = {
        "count": count,
        "previous": f"?offset={max(0, offset - PAGE_SIZE)}" if offset else None,
        "next": f"?offset={end}" if end < count else None,
    }
    return render_page(request, "alerts/status_pages.html", "status", pages=items, pager=pager)


def unprocessable(response: HttpResponse) -> HttpResponse:
    response.status_code = 422
    return response


@require_http_methods(["GET", "POST"])
@page_for("admin")
def new_status_page(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render_page(
            request,
            "alerts/status_page_new.html",
            "status",
            values=NEW_PAGE,
            errors={},
            project=current_project(request),
        )
    values = form_values(request.POST, checkboxes=CHECKBOXES)
    payload, errors = parse(StatusPageIn, values)
    if payload is not None:
        try:
            created = changes.create_page(request.user, payload, current_project(request))
        except InputError as error:
            errors = field_errors(error)
        else:
            messages.success(request, f"Status page “{created.title}” created. Now add the components it shows.")
            return redirect("status-page", created.id)
    shown = render_page(
        request, "alerts/status_page_new.html", "status", values=values, errors=errors, project=current_project(request)
    )
    return unprocessable(shown)


def settings_page(request: HttpRequest, status_page: StatusPage, **forms: dict) -> HttpResponse:
    """The settings page; `forms` holds what a refused form sent and its errors (then a 422)."""
    components = list(status_page.components.select_related("service", "function"))
    incidents = list(status_page.incidents.select_related("alert").order_by("-started_at", "-id")[:PAGE_SIZE])
    values = forms.get("page_values") or audit.snapshot(status_page, changes.PAGE_FIELDS)
    response = render_page(
        request,
        "alerts/status_page.html",
        "status",
        status_page=status_page,
        values=values,
        errors=forms.get("page_errors", {}),
        components=components,
        component_values=forms.get("component_values") or {"position": len(components)},
        component_errors=forms.get("component_errors", {}),
        services=Service.objects.filter(project_id=status_page.project_id).only("id", "name"),
        incidents=incidents,
        alerts=list(changes.publishable_alerts(status_page)[:ALERTS_OFFERED]),
        incident_values=forms.get("incident_values") or {"state": StatusIncidentState.INVESTIGATING},
        incident_errors=forms.get("incident_errors", {}),
        states=StatusIncidentState.values,
        history=audit.history("statuspage", status_page.id)[:HISTORY_SHOWN],
    )
    return unprocessable(response) if any(forms.get(k) for k in forms if k.endswith("_errors")) else response


@require_http_methods(["GET", "POST"])
@page_for("viewer")
def status_page_settings(request: HttpRequest, page_id: int) -> HttpResponse:
    status_page = owned(request, page_id)
    if request.method != "POST":
        return settings_page(request, status_page)
    values = form_values(request.POST, checkboxes=CHECKBOXES)
    # An emptied description is sent as "" (form_values leaves empty fields out).
    payload, errors = parse(StatusPagePatch, {"description": ""} | values)
    if payload is not None:
        try:
            changes.update_page(request.user, status_page, payload)
        except InputError as error:
            errors = field_errors(error)
        else:
            messages.success(request, f"Status page “{status_page.title}” saved.")
            return redirect("status-page", status_page.id)
    status_page.refresh_from_db()
    return settings_page(request, status_page, page_values=values, page_errors=errors)


@require_POST
@page_for("viewer")
def delete_status_page(request: HttpRequest, page_id: int) -> HttpResponse:
    status_page = owned(request, page_id)
    changes.delete_page(request.user, status_page)
    messages.success(request, f"Status page “{status_page.title}” deleted; /status/{status_page.slug}/ answers 404.")
    return redirect("status-pages")


@require_POST
@page_for("viewer")
def add_component(request: HttpRequest, page_id: int) -> HttpResponse:
    status_page = owned(request, page_id)
    values = form_values(request.POST)
    payload, errors = parse(ComponentIn, as_numbers(values, "position"))
    if payload is not None:
        try:
            component = changes.add_component(request.user, status_page, payload)
        except InputError as error:
            errors = field_errors(error)
        else:
            messages.success(request, f"“{component.public_name}” added to the page.")
            return redirect("status-page", status_page.id)
    return settings_page(request, status_page, component_values=values, component_errors=errors)


@require_POST
@page_for("viewer")
def change_component(request: HttpRequest, page_id: int, component_id: int) -> HttpResponse:
    owned(request, page_id)
    component = get_object_or_404(StatusComponent.objects.select_related("page"), id=component_id, page_id=page_id)
    payload, errors = parse(ComponentPatch, as_numbers(form_values(request.POST), "position"))
    if payload is None:
        problem = next(iter(errors.items()))
        messages.error(request, f"“{component.public_name}” was not saved: {problem[0]} {problem[1]}.")
    else:
        changes.change_component(request.user, component, payload)
        messages.success(request, f"“{component.public_name}” saved.")
    return redirect("status-page", page_id)


@require_POST
@page_for("viewer")
def remove_component(request: HttpRequest, page_id: int, component_id: int) -> HttpResponse:
    owned(request, page_id)
    component = get_object_or_404(StatusComponent.objects.select_related("page"), id=component_id, page_id=page_id)
    changes.remove_component(request.user, component)
    messages.success(request, f"“{component.public_name}” removed from the page.")
    return redirect("status-page", page_id)


@require_POST
@page_for("viewer")
def publish(request: HttpRequest, page_id: int) -> HttpResponse:
    status_page = owned(request, page_id)
    values = form_values(request.POST)
    payload, errors = parse(StatusIncidentIn, as_numbers(values, "alert"))
    if payload is not None:
        try:
            incident = changes.publish(request.user, status_page, payload)
        except InputError as error:
            errors = field_errors(error)
        else:
            messages.success(request, f"Incident “{incident.title}” published.")
            return redirect("status-incident", status_page.id, incident.id)
    return settings_page(request, status_page, incident_values=values, incident_errors=errors)


def incident_page(request: HttpRequest, incident: StatusIncident, values: dict, errors: dict) -> HttpResponse:
    response = render_page(
        request,
        "alerts/status_incident.html",
        "status",
        incident=incident,
        status_page=incident.page,
        updates=incident.updates.select_related("author"),
        values=values,
        errors=errors,
        states=StatusIncidentState.values,
    )
    return unprocessable(response) if errors else response


def owned(request: HttpRequest, page_id: int) -> StatusPage:
    """A status page of the person's projects (else 404) they are an admin of (else 403)."""
    return acting_on(request, StatusPage.objects.select_related("project"), "admin", id=page_id)


def found_incident(request: HttpRequest, page_id: int, incident_id: int) -> StatusIncident:
    owned(request, page_id)
    return get_object_or_404(StatusIncident.objects.select_related("page", "alert"), id=incident_id, page_id=page_id)


@require_http_methods(["GET", "POST"])
@page_for("viewer")
def incident(request: HttpRequest, page_id: int, incident_id: int) -> HttpResponse:
    """The incident with its updates; POST writes an update (state "resolved" resolves it)."""
    found = found_incident(request, page_id, incident_id)
    if request.method != "POST":
        return incident_page(request, found, {"state": found.state}, {})
    values = form_values(request.POST)
    payload, errors = parse(UpdateIn, values)
    if payload is not None:
        changes.post_update(request.user, found, payload)
        done = "resolved" if payload.state == StatusIncidentState.RESOLVED else "updated"
        messages.success(request, f"Incident “{found.title}” {done}.")
        return redirect("status-incident", page_id, found.id)
    return incident_page(request, found, values, errors)


@require_POST
@page_for("viewer")
def delete_incident(request: HttpRequest, page_id: int, incident_id: int) -> HttpResponse:
    found = found_incident(request, page_id, incident_id)
    changes.delete_incident(request.user, found)
    messages.success(request, f"Incident “{found.title}” deleted from the page.")
    return redirect("status-page", page_id)
