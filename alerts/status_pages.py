"""Status pages: every change an admin makes, called by the API and the pages alike.

Each change and its audit entry are written in one transaction. Every entry is recorded
against the page (kind "statuspage"), so the page's own history tells its whole story:
its settings, its components, its incidents and their updates.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from monitoring import audit
from monitoring.errors import InputError
from monitoring.models import Function, Project, Service, default_project_id

from .api.status_schemas import (
    ComponentIn,
    ComponentPatch,
    StatusIncidentIn,
    StatusIncidentPatch,
    StatusPageIn,
    StatusPagePatch,
    UpdateIn,
)
from .models import OPEN_STATES, Alert, StatusComponent, StatusIncident, StatusIncidentState, StatusPage, StatusUpdate

Actor = AbstractBaseUser | AnonymousUser | None
PAGE_FIELDS = ("slug", "title", "description", "enabled", "show_figures")
COMPONENT_FIELDS = ("id", "service", "function", "public_name", "position")
INCIDENT_FIELDS = ("id", "alert", "title", "state", "started_at", "resolved_at")
UPDATE_FIELDS = ("id", "incident", "state", "body")
# Alerts an admin may publish: open ones, and those resolved in this many days.
RECENT_ALERT_DAYS = 7
ADDED, CHANGED, REMOVED = "added component", "changed component", "removed component"
PUBLISHED, RETITLED, UPDATED, DROPPED = "published incident", "changed incident", "posted update", "deleted incident"


def person(actor: Actor) -> AbstractBaseUser | None:
    return actor if actor is not None and actor.is_authenticated else None


def free_slug(slug: str, page_id: int | None = None) -> None:
    if StatusPage.objects.filter(slug=slug).exclude(id=page_id).exists():
        raise InputError("slug", f"another status page has the slug “{slug}”")


def saved(page: StatusPage) -> None:
    """Save, turning the unique slug's race (two admins at once) into the same 422."""
    try:
        with transaction.atomic():
            page.save()
    except IntegrityError:
        raise InputError("slug", f"another status page has the slug “{page.slug}”") from None


def create_page(actor: Actor, payload: StatusPageIn, project: Project | None = None) -> StatusPage:
    """A new status page in project (default: the default project)."""
    free_slug(payload.slug)
    page = StatusPage(**payload.model_dump(exclude={"project"}))
    page.project_id = project.id if project is not None else default_project_id()
    with transaction.atomic():
        saved(page)
        audit.record(actor, audit.CREATED, page, after=audit.snapshot(page, PAGE_FIELDS))
    return page


def update_page(actor: Actor, page: StatusPage, patch: StatusPagePatch) -> StatusPage:
    given = {name: value for name, value in patch.model_dump().items() if value is not None}
    if "slug" in given:
        free_slug(given["slug"], page.id)
    with transaction.atomic():
        before = audit.snapshot(page, PAGE_FIELDS)
        for name, value in given.items():
            setattr(page, name, value)
        page.updated = timezone.now()
        saved(page)
        audit.record(actor, audit.UPDATED, page, before=before, after=audit.snapshot(page, PAGE_FIELDS))
    return page


def delete_page(actor: Actor, page: StatusPage) -> None:
    with transaction.atomic():
        audit.record(actor, audit.DELETED, page, before=audit.snapshot(page, PAGE_FIELDS))
        page.delete()


def touched(page: StatusPage) -> None:
    StatusPage.objects.filter(id=page.id).update(updated=timezone.now())


def found_subject(payload: ComponentIn, project_id: int) -> tuple[Service, Function | None]:
    """The component's service (and function), of the page's project: another's is not found."""
    service = Service.objects.filter(name=payload.service, project_id=project_id).first()
    if service is None:
        raise InputError("service", f"no service named “{payload.service}”")
    if payload.function is None:
        return service, None
    function = Function.objects.filter(service=service, name=payload.function).first()
    if function is None:
        raise InputError("function", f"service “{service.name}” has no function named “{payload.function}”")
    return service, function


def add_component(actor: Actor, page: StatusPage, payload: ComponentIn) -> StatusComponent:
    service, function = found_subject(payload, page.project_id)
    if page.components.filter(service=service, function=function).exists():
        raise InputError("function" if function else "service", "already shown on this page")
    component = StatusComponent(
        page=page, service=service, function=function, public_name=payload.public_name, position=payload.position
    )
    with transaction.atomic():
        component.save()
        touched(page)
        audit.record(actor, ADDED, page, after=component_snapshot(component))
    return component


def component_snapshot(component: StatusComponent) -> dict:
    # Names, not ids: the page's history reads "payments/charge", however the rows change.
    shown = audit.snapshot(component, ("id", "public_name", "position"))
    shown["service"] = component.service.name
    shown["function"] = component.function.name if component.function else None
    return shown


def change_component(actor: Actor, component: StatusComponent, patch: ComponentPatch) -> StatusComponent:
    given = {name: value for name, value in patch.model_dump().items() if value is not None}
    with transaction.atomic():
        before = component_snapshot(component)
        for name, value in given.items():
            setattr(component, name, value)
        component.save()
        touched(component.page)
        after = component_snapshot(component)
        if before != after:
            audit.record(actor, CHANGED, component.page, before=before, after=after)
    return component


def remove_component(actor: Actor, component: StatusComponent) -> None:
    with transaction.atomic():
        audit.record(actor, REMOVED, component.page, before=component_snapshot(component))
        component.delete()
        touched(component.page)


def publishable_alerts(page: StatusPage, now: datetime | None = None) -> QuerySet[Alert]:
    """The alerts of the page's components an admin may publish: open, or resolved lately."""
    now = now or timezone.now()
    subjects = Q(pk__in=[])
    for component in page.components.select_related("service", "function"):
        if component.function is None:
            subjects |= Q(service=component.service.name)
        else:
            subjects |= Q(service=component.service.name, subject=component.function.name)
    recent = Q(state__in=OPEN_STATES) | Q(resolved_at__gte=now - timedelta(days=RECENT_ALERT_DAYS))
    return Alert.objects.filter(subjects, recent).select_related("rule")


def incident_snapshot(incident: StatusIncident) -> dict:
    return audit.snapshot(incident, INCIDENT_FIELDS)


def publish(actor: Actor, page: StatusPage, payload: StatusIncidentIn) -> StatusIncident:
    now = timezone.now()
    alert = None
    if payload.alert is not None:
        alert = publishable_alerts(page, now).filter(id=payload.alert).first()
        if alert is None:
            raise InputError("alert", f"alert {payload.alert} is not an open or recent alert of this page's components")
    incident = StatusIncident(
        page=page,
        alert=alert,
        title=payload.title,
        state=payload.state,
        started_at=alert.started_at if alert else now,
        resolved_at=now if payload.state == StatusIncidentState.RESOLVED else None,
        updated=now,
    )
    with transaction.atomic():
        incident.save()
        audit.record(actor, PUBLISHED, page, after=incident_snapshot(incident))
        if payload.message.strip():
            write_update(actor, incident, payload.state, payload.message.strip(), now)
        touched(page)
    return incident


def change_incident(actor: Actor, incident: StatusIncident, patch: StatusIncidentPatch) -> StatusIncident:
    with transaction.atomic():
        before = incident_snapshot(incident)
        if patch.title is not None:
            incident.title = patch.title
        incident.updated = timezone.now()
        incident.save()
        touched(incident.page)
        after = incident_snapshot(incident)
        if before != after:
            audit.record(actor, RETITLED, incident.page, before=before, after=after)
    return incident


def write_update(actor: Actor, incident: StatusIncident, state: str, body: str, now: datetime) -> StatusUpdate:
    """The update row and the incident's new state, with the audit entry (inside a transaction)."""
    update = StatusUpdate.objects.create(incident=incident, at=now, state=state, body=body, author=person(actor))
    incident.state = state
    incident.updated = now
    if state == StatusIncidentState.RESOLVED:
        incident.resolved_at = incident.resolved_at or now
    else:
        incident.resolved_at = None
    incident.save()
    audit.record(actor, UPDATED, incident.page, after=audit.snapshot(update, UPDATE_FIELDS))
    return update


def post_update(actor: Actor, incident: StatusIncident, payload: UpdateIn) -> StatusUpdate:
    """A note on the incident; its state becomes the incident's ("resolved" moves it to the past)."""
    with transaction.atomic():
        update = write_update(actor, incident, payload.state, payload.body, timezone.now())
        touched(incident.page)
    return update


def delete_incident(actor: Actor, incident: StatusIncident) -> None:
    with transaction.atomic():
        audit.record(actor, DROPPED, incident.page, before=incident_snapshot(incident))
        incident.delete()
        touched(incident.page)
