"""The incident pages: the list by state, one incident with its alerts, merged timeline and
the actions that fit its state (plain forms: acknowledge, suppress, resolve). Actions call
alerts.incident_actions, as the API does, and answer Post/Redirect/Get with a flash message."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.views.decorators.http import require_POST

from monitoring.auth import page_for, require_role
from monitoring.forms import form_values, parse
from monitoring.projects import may, project_of
from monitoring.views import page

from . import incident_actions, incident_read
from .api.schemas import AcknowledgeIn, ResolveIn, SuppressIn
from .models import Incident
from .views import REMIND_CHOICES, SUPPRESS_CHOICES

PAGE_SIZE = 50
STATES = ["open", "acknowledged", "resolved"]


def offset_of(request: HttpRequest) -> int:
    value = request.GET.get("offset", "")
    return int(value) if value.isdigit() and len(value) < 10 else 0


def query(state: str | None, offset: int = 0) -> str:
    return "?" + urlencode({name: value for name, value in (("state", state), ("offset", offset)) if value})


@page_for("viewer")
def incidents(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state") if request.GET.get("state") in STATES else None
    offset = offset_of(request)
    found = incident_read.find_incidents(request.user, state)
    items = found[offset : offset + PAGE_SIZE]
    count = len(found)
    end = offset + len(items)
    pager = {
        "count": count,
        "previous": query(state, max(0, offset - PAGE_SIZE)) if offset else None,
        "next": query(state, end) if end < count else None,
    }
    tabs = [{"state": s, "url": query(s)} for s in [None, *STATES]]
    context = {"incidents": items, "state": state, "tabs": tabs, "pager": pager}
    return page(request, "alerts/incidents.html", "incidents", **context)


@page_for("viewer")
def incident(request: HttpRequest, incident_id: int) -> HttpResponse:
    found = incident_read.get_incident(incident_id, request.user)
    detail = incident_read.incident_detail_of(found, request.user)
    context = {"suppress_choices": SUPPRESS_CHOICES, "remind_choices": REMIND_CHOICES}
    # The actions go by the role in the incident's project, not in the current one.
    context["can_act"] = may(request.user, "responder", project_of(found))
    return page(request, "alerts/incident.html", "incidents", incident=detail, **context)


def acted(request: HttpRequest, incident_id: int, done: bool, words: str, verb: str) -> HttpResponse:
    if done:
        messages.success(request, f"Incident #{incident_id} {words}.")
    else:
        messages.warning(request, f"Incident #{incident_id} has no alert left to {verb}.")
    return redirect("incident", incident_id=incident_id)


def numbers(values: dict, *names: str) -> dict:
    """A form's whole numbers as the API's JSON carries them; an empty choice left out."""
    for name in names:
        value = str(values.get(name, "")).strip()
        if not value:
            values.pop(name, None)
        elif value.isdigit() and len(value) < 10:
            values[name] = int(value)
    return values


def responding_to(request: HttpRequest, incident_id: int) -> Incident:
    """An incident of the person's projects (else 404) in whose project they are at least a
    responder (else 403), whatever the current project."""
    found = incident_read.get_incident(incident_id, request.user)
    require_role(request, "responder", project_of(found))
    return found


def refused(request: HttpRequest, incident_id: int, errors: dict[str, str]) -> HttpResponse:
    for field, message in errors.items():
        messages.error(request, f"{field}: {message}")
    return redirect("incident", incident_id=incident_id)


@require_POST
@page_for("viewer")
def acknowledge(request: HttpRequest, incident_id: int) -> HttpResponse:
    found = responding_to(request, incident_id)
    payload, errors = parse(AcknowledgeIn, numbers(form_values(request.POST), "remind_after_minutes"))
    if payload is None:
        return refused(request, incident_id, errors)
    done = incident_actions.acknowledge(found, request.user, payload.reason, payload.remind_after_minutes)
    return acted(request, incident_id, done, "acknowledged", "acknowledge")


@require_POST
@page_for("viewer")
def suppress(request: HttpRequest, incident_id: int) -> HttpResponse:
    found = responding_to(request, incident_id)
    payload, errors = parse(SuppressIn, numbers(form_values(request.POST), "minutes"))
    if payload is None:
        return refused(request, incident_id, errors)
    done = incident_actions.suppress(found, request.user, payload.minutes, payload.comment)
    return acted(request, incident_id, done, f"suppressed for {payload.minutes} min", "suppress")


@require_POST
@page_for("viewer")
def resolve(request: HttpRequest, incident_id: int) -> HttpResponse:
    found = responding_to(request, incident_id)
    payload, errors = parse(ResolveIn, form_values(request.POST))
    if payload is None:
        return refused(request, incident_id, errors)
    done = incident_actions.resolve(found, request.user, payload.comment)
    return acted(request, incident_id, done, "resolved", "resolve")


urlpatterns = [
    path("", incidents, name="incidents"),
    path("<int:incident_id>/", incident, name="incident"),
    path("<int:incident_id>/acknowledge/", acknowledge, name="incident-acknowledge"),
    path("<int:incident_id>/suppress/", suppress, name="incident-suppress"),
    path("<int:incident_id>/resolve/", resolve, name="incident-resolve"),
]
