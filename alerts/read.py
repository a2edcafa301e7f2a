"""The alerts' read layer: what both the alert pages and the API show of alerts, their
timelines and their deliveries. Plain functions returning dicts that templates and ninja
schemas both take; lists come back as Rows, sliced in the database one page at a time."""

from __future__ import annotations

from typing import Literal

from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Schema
from pydantic import Field

from monitoring.inputs import Text
from monitoring.paging import Rows

from .models import OPEN_STATES, Alert, Delivery, Event


class AlertFilters(Schema):
    state: Literal["firing", "acknowledged", "suppressed", "resolved"] | None = None
    service: Text | None = Field(None, max_length=100)


def alert_out(alert: Alert) -> dict:
    return {
        "id": alert.id,
        # None once the rule is deleted (its alerts outlive it, resolved).
        "rule": {"id": alert.rule_id, "name": alert.rule.name} if alert.rule else None,
        "service": alert.service,
        "subject": alert.subject,
        "metric": alert.metric,
        "severity": alert.severity,
        "state": alert.state,
        "suppressed_until": alert.suppressed_until if alert.is_suppressed() else None,
        "started_at": alert.started_at,
        "acknowledged_at": alert.acknowledged_at,
        "acknowledged_by": alert.acknowledged_by.get_username() if alert.acknowledged_by else None,
        "resolved_at": alert.resolved_at,
        "value": alert.value,
        "threshold": alert.threshold,
        "summary": alert.summary,
    }


def event_out(event: Event) -> dict:
    return {"at": event.at, "actor": event.actor_name, "action": event.action, "detail": event.detail}


def delivery_out(delivery: Delivery) -> dict:
    return {
        "id": delivery.id,
        "alert_id": delivery.alert_id,
        "channel": delivery.channel.name,
        "channel_id": delivery.channel_id,
        "kind": delivery.channel.kind,
        "event": delivery.event,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "last_error": delivery.last_error,
        "next_attempt_at": delivery.next_attempt_at if delivery.state == "pending" else None,
        "sent_at": delivery.sent_at,
        "created": delivery.created,
    }


def find_alerts(state: str | None = None, service: str | None = None) -> Rows:
    """Alerts in a state ("suppressed": open and under a silence) and of a service, newest first."""
    alerts = Alert.objects.select_related("rule", "acknowledged_by")
    if state == "suppressed":
        alerts = alerts.filter(state__in=OPEN_STATES, suppressed_until__gt=timezone.now())
    elif state:
        alerts = alerts.filter(state=state)
    if service:
        alerts = alerts.filter(service=service)
    return Rows(alerts, lambda page: [alert_out(alert) for alert in page])


def find_deliveries(state: str | None = None) -> Rows:
    deliveries = Delivery.objects.select_related("channel")
    if state:
        deliveries = deliveries.filter(state=state)
    return Rows(deliveries, lambda page: [delivery_out(delivery) for delivery in page])


def get_alert(alert_id: int) -> Alert:
    """The alert, with what alert_out shows of it; 404 if unknown."""
    return get_object_or_404(Alert.objects.select_related("rule", "acknowledged_by"), id=alert_id)


def alert_detail(alert_id: int) -> dict:
    """One alert with its timeline and its deliveries; 404 if unknown."""
    alert = get_alert(alert_id)
    events = alert.events.select_related("actor").order_by("at", "id")
    deliveries = alert.deliveries.select_related("channel").order_by("created", "id")
    return {
        **alert_out(alert),
        "timeline": [event_out(e) for e in events],
        "deliveries": [delivery_out(d) for d in deliveries],
    }
