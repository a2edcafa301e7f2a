"""Alert history past its retention is forgotten; open alerts keep theirs whole.

An alert's events and deliveries stay while the alert is open and for the retention
after it resolved, so a timeline is never half gone while it can still be read whole.
Pending deliveries are never forgotten, nor an alert that still has one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from monitoring.retention import forget_in_chunks

from .delivery import RECIPIENT_WINDOW
from .models import (
    OPEN_INCIDENT_STATES,
    OPEN_STATES,
    Alert,
    AlertState,
    Breach,
    Delivery,
    DeliveryState,
    Event,
    Incident,
    IncidentState,
    RecipientSend,
)

FINISHED = (DeliveryState.SENT, DeliveryState.DEAD)


def days_ago(days: int, now: datetime | None) -> datetime:
    return (now or timezone.now()) - timedelta(days=days)


def no_alert_or_resolved_before(cutoff: datetime) -> Q:
    return Q(alert__isnull=True) | Q(alert__resolved_at__lt=cutoff)


def forget_old_events(now: datetime | None = None) -> int:
    cutoff = days_ago(settings.MONITOR_EVENT_RETENTION_DAYS, now)
    old = Event.objects.filter(no_alert_or_resolved_before(cutoff), at__lt=cutoff)
    # An open incident's own lines stay whole, as an open alert's do.
    old = old.exclude(incident__state__in=OPEN_INCIDENT_STATES)
    return forget_in_chunks(old, "timeline events")


def forget_old_deliveries(now: datetime | None = None) -> int:
    cutoff = days_ago(settings.MONITOR_DELIVERY_RETENTION_DAYS, now)
    old = Delivery.objects.filter(no_alert_or_resolved_before(cutoff), state__in=FINISHED, created__lt=cutoff)
    return forget_in_chunks(old, "sent and dead deliveries")


def forget_resolved_alerts(now: datetime | None = None) -> int:
    """Resolved alerts past their retention, with what remains of their events and deliveries."""
    cutoff = days_ago(settings.MONITOR_RESOLVED_ALERT_RETENTION_DAYS, now)
    unfinished = Delivery.objects.filter(alert=OuterRef("pk")).exclude(state__in=FINISHED)
    old = Alert.objects.filter(state=AlertState.RESOLVED, resolved_at__lt=cutoff).exclude(Exists(unfinished))
    return forget_in_chunks(old, "resolved alerts")


def forget_resolved_incidents(now: datetime | None = None) -> int:
    """Resolved incidents past the alert retention whose alerts are all forgotten."""
    cutoff = days_ago(settings.MONITOR_RESOLVED_ALERT_RETENTION_DAYS, now)
    kept = Alert.objects.filter(incident=OuterRef("pk"))
    unfinished = Delivery.objects.filter(incident=OuterRef("pk")).exclude(state__in=FINISHED)
    old = Incident.objects.filter(state=IncidentState.RESOLVED, resolved_at__lt=cutoff)
    return forget_in_chunks(old.exclude(Exists(kept)).exclude(Exists(unfinished)), "resolved incidents")


def forget_stale_breaches(now: datetime | None = None) -> int:
    """Waits for a rule's `for` duration that no evaluation will finish: the rule was disabled.

    A wait lasts at most the rule's `for` (up to 7 days) before its alert fires, and the
    evaluator drops it when the condition clears; one older than the resolved-alert
    retention with no open alert was left by a rule that stopped being evaluated.
    """
    cutoff = days_ago(settings.MONITOR_RESOLVED_ALERT_RETENTION_DAYS, now)
    open_alert = Alert.objects.filter(rule=OuterRef("rule"), fingerprint=OuterRef("fingerprint"), state__in=OPEN_STATES)
    old = Breach.objects.filter(since__lt=cutoff).exclude(Exists(open_alert))
    return forget_in_chunks(old, "stale breaches")


def forget_old_recipient_sends(now: datetime | None = None) -> int:
    """Rate-limit bookkeeping is read over one window; nothing older is ever read."""
    cutoff = (now or timezone.now()) - RECIPIENT_WINDOW
    return forget_in_chunks(RecipientSend.objects.filter(at__lt=cutoff), "recipient sends")


def forget_old_history(now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    return {
        "events": forget_old_events(now),
        "deliveries": forget_old_deliveries(now),
        "alerts": forget_resolved_alerts(now),
        "incidents": forget_resolved_incidents(now),
        "breaches": forget_stale_breaches(now),
        "recipient_sends": forget_old_recipient_sends(now),
    }
