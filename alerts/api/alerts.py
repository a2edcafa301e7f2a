"""Alerts: read (viewer), act (responder)."""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Query, Router, Status
from pydantic import Field

from alerts import lifecycle
from alerts.lifecycle import NotApplicable
from alerts.models import OPEN_STATES, Alert, Delivery, Event
from monitoring.auth import require_role, user_auth

from .schemas import (
    AcknowledgeIn,
    AlertDetail,
    AlertPage,
    CommentIn,
    DeliveryOut,
    Error,
    EventOut,
    Page,
    ResolveIn,
    SuppressIn,
)

router = Router(tags=["alerts"])
ACTION_ERRORS = {403: Error, 404: Error, 409: Error, 422: Error}


class AlertFilters(Page):
    state: Literal["firing", "acknowledged", "suppressed", "resolved"] | None = None
    service: str | None = Field(None, max_length=100)


def alert_out(alert: Alert) -> dict:
    return {
        "id": alert.id,
        "rule": {"id": alert.rule_id, "name": alert.rule.name},
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


def alert_detail(alert: Alert) -> dict:
    events = alert.events.select_related("actor").order_by("at", "id")
    deliveries = alert.deliveries.select_related("channel").order_by("created", "id")
    return {
        **alert_out(alert),
        "timeline": [event_out(e) for e in events],
        "deliveries": [delivery_out(d) for d in deliveries],
    }


def get_alert_for(request: HttpRequest, alert_id: int, role: str = "viewer") -> Alert:
    require_role(request, role)
    return get_object_or_404(Alert.objects.select_related("rule", "acknowledged_by"), id=alert_id)


def refuse(alert: Alert, action: str) -> NotApplicable:
    return NotApplicable(f"cannot {action} an alert that is {alert.state}")


@router.get("/alerts", auth=user_auth, response=AlertPage)
def list_alerts(request: HttpRequest, filters: Query[AlertFilters]) -> dict:
    alerts = Alert.objects.select_related("rule", "acknowledged_by")
    if filters.state == "suppressed":
        alerts = alerts.filter(state__in=OPEN_STATES, suppressed_until__gt=timezone.now())
    elif filters.state:
        alerts = alerts.filter(state=filters.state)
    if filters.service:
        alerts = alerts.filter(service=filters.service)
    page = alerts[filters.offset : filters.offset + filters.limit]
    return {"items": [alert_out(a) for a in page], "count": alerts.count()}


@router.get("/alerts/{alert_id}", auth=user_auth, response={200: AlertDetail, 404: Error})
def get_alert(request: HttpRequest, alert_id: int) -> dict:
    return alert_detail(get_alert_for(request, alert_id))


@router.post("/alerts/{alert_id}/acknowledge", auth=user_auth, response={200: AlertDetail, **ACTION_ERRORS})
def acknowledge_alert(request: HttpRequest, alert_id: int, payload: AcknowledgeIn | None = None) -> dict:
    alert = get_alert_for(request, alert_id, "responder")
    payload = payload or AcknowledgeIn()
    if not lifecycle.acknowledge(alert, request.user, payload.reason, payload.remind_after_minutes):
        raise refuse(alert, "acknowledge")
    return alert_detail(get_alert_for(request, alert_id))


@router.post("/alerts/{alert_id}/unacknowledge", auth=user_auth, response={200: AlertDetail, **ACTION_ERRORS})
def unacknowledge_alert(request: HttpRequest, alert_id: int) -> dict:
    alert = get_alert_for(request, alert_id, "responder")
    if not lifecycle.unacknowledge(alert, request.user):
        raise refuse(alert, "unacknowledge")
    return alert_detail(get_alert_for(request, alert_id))


@router.post("/alerts/{alert_id}/resolve", auth=user_auth, response={200: AlertDetail, **ACTION_ERRORS})
def resolve_alert(request: HttpRequest, alert_id: int, payload: ResolveIn | None = None) -> dict:
    alert = get_alert_for(request, alert_id, "responder")
    if not lifecycle.resolve(alert, actor=request.user, comment=(payload or ResolveIn()).comment):
        raise refuse(alert, "resolve")
    return alert_detail(get_alert_for(request, alert_id))


@router.post("/alerts/{alert_id}/suppress", auth=user_auth, response={200: AlertDetail, **ACTION_ERRORS})
def suppress_alert(request: HttpRequest, alert_id: int, payload: SuppressIn) -> dict:
    alert = get_alert_for(request, alert_id, "responder")
    if not lifecycle.suppress(alert, request.user, payload.minutes, payload.comment):
        raise refuse(alert, "suppress")
    return alert_detail(get_alert_for(request, alert_id))


@router.post("/alerts/{alert_id}/comment", auth=user_auth, response={201: EventOut, **ACTION_ERRORS})
def comment_alert(request: HttpRequest, alert_id: int, payload: CommentIn) -> Status:
    alert = get_alert_for(request, alert_id, "responder")
    return Status(201, event_out(lifecycle.comment(alert, request.user, payload.text)))


__all__ = ["router", "alert_out", "delivery_out", "event_out", "DeliveryOut", "EventOut"]
