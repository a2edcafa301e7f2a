"""The incidents' read layer: what the incident pages and the API show. Plain functions
returning dicts that templates and ninja schemas both take; the list comes back as Rows."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.db.models import Count, Q, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Schema

from monitoring.paging import Rows
from monitoring.projects import User, scoped

from .escalation_read import standing
from .models import OPEN_STATES, Event, Incident, IncidentState
from .read import alert_out, delivery_out, duration, event_out, unseen_inhibitors
from .timeline import number


class IncidentFilters(Schema):
    state: Literal["open", "acknowledged", "resolved"] | None = None


def counted(incidents: object) -> object:
    return incidents.annotate(
        alert_count=Count("alerts", distinct=True),
        open_count=Count("alerts", filter=Q(alerts__state__in=OPEN_STATES), distinct=True),
        flap_count=Sum("alerts__flaps"),
    )


def incident_out(incident: Incident, now: datetime | None = None) -> dict:
    """One incident: its state, severity (the highest of its alerts'), how long it has been open."""
    now = now or timezone.now()
    open_s = ((incident.resolved_at or now) - incident.started_at).total_seconds()
    return {
        "id": incident.id,
        "name": incident.name,
        "service": incident.service,
        "subject": incident.subject,
        "state": incident.state,
        "severity": incident.severity,
        "started_at": incident.started_at,
        "acknowledged_at": incident.acknowledged_at,
        "acknowledged_by": incident.acknowledged_by.get_username() if incident.acknowledged_by else None,
        "resolved_at": incident.resolved_at,
        "duration_s": int(open_s),
        "duration": duration(open_s),
        "alert_count": incident.alert_count,
        "open_alerts": incident.open_count,
        "flaps": incident.flap_count or 0,
        "notified_at": incident.notified_at,
        "next_notice": incident.pending_event or None,
        "next_notice_at": incident.notify_at,
    }


def find_incidents(user: User | None, state: str | None = None) -> Rows:
    """Incidents of the person's projects in a state, newest first."""
    incidents = counted(scoped(Incident.objects.select_related("acknowledged_by"), user)).order_by("-started_at", "-id")
    if state:
        incidents = incidents.filter(state=state)
    now = timezone.now()
    return Rows(incidents, lambda page: [incident_out(incident, now) for incident in page])


def get_incident(incident_id: int, user: User | None) -> Incident:
    """The incident with its counts; 404 if unknown or of a project the person may not see."""
    found = scoped(Incident.objects.select_related("acknowledged_by", "escalation_policy"), user)
    return get_object_or_404(counted(found), id=incident_id)


def timeline(incident: Incident) -> list[dict]:
    """Its own lines and its alerts' lines, merged in time order; each alert line says which alert."""
    events = Event.objects.filter(Q(incident=incident) | Q(alert__incident=incident))
    lines = []
    for event in events.select_related("actor", "alert__rule").order_by("at", "id"):
        line = event_out(event)
        line["alert_id"] = event.alert_id
        line["alert"] = event.alert.rule_name if event.alert else None
        lines.append(line)
    return lines


def incident_detail(incident_id: int, user: User | None, now: datetime | None = None) -> dict:
    """One incident with its alerts, its merged timeline and its deliveries; 404 if unknown
    (or another project's)."""
    return incident_detail_of(get_incident(incident_id, user), user, now)


def incident_detail_of(incident: Incident, user: User | None, now: datetime | None = None) -> dict:
    alerts = incident.alerts.select_related("rule", "acknowledged_by", "inhibited_by__rule").order_by(
        "started_at", "id"
    )
    alerts = unseen_inhibitors(list(alerts), user)
    deliveries = incident.deliveries.select_related("channel").order_by("created", "id")
    return {
        **incident_out(incident, now),
        "alerts": [{**alert_out(alert), "value_text": number(alert.value)} for alert in alerts],
        "timeline": timeline(incident),
        "deliveries": [delivery_out(d) for d in deliveries],
        "escalation": standing(incident),
    }


def is_open(incident: dict) -> bool:
    return incident["state"] in (IncidentState.OPEN, IncidentState.ACKNOWLEDGED)
