"""The outbox: notifications are Delivery rows written in the alert change's transaction.

A Celery task sends each one after commit (`delay_on_commit`); the periodic sweep
(`alerts.delivery.sweep`) resends any that a lost task left behind.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from .delivery import deliver
from .models import Alert, Channel, Delivery, DeliveryState
from .timeline import number, record

EVENT_WORDS = {"firing": "Firing", "resolved": "Resolved", "reminder": "Still firing", "test": "Test"}


def message_for(alert: Alert, event: str) -> dict:
    """What a notification says, kept on the delivery so every attempt sends the same."""
    rule = alert.rule
    value = number(alert.value)
    fields = {
        "rule": rule.name,
        "service": alert.service,
        "subject": alert.subject,
        "metric": alert.metric,
        "value": value,
        "threshold": f"{rule.op} {alert.threshold:g}",
        "started_at": alert.started_at.isoformat(),
    }
    # A resolved notice must not read as if the firing condition still held.
    headline = f"Resolved, was: {alert.summary}" if event == "resolved" else f"{EVENT_WORDS[event]}: {alert.summary}"
    lines = [headline, f"Rule: {rule.name} ({alert.severity})"]
    if alert.resolved_at:
        fields["resolved_at"] = alert.resolved_at.isoformat()
        lines.append(f"Resolved at {alert.resolved_at:%Y-%m-%d %H:%M:%S} UTC")
    return {
        "event": event,
        "alert_id": alert.id,
        "title": f"[{alert.severity}] {rule.name} on {alert.service}/{alert.subject}",
        "text": "\n".join(lines),
        "severity": alert.severity,
        "url": f"{settings.SITE_URL}/alerts/{alert.id}/",
        "fields": fields,
    }


def test_message() -> dict:
    return {
        "event": "test",
        "alert_id": None,
        "title": "[low] Test notification from Resilience Monitor",
        "text": "This is a test. If you can read it, the channel works.",
        "severity": "low",
        "url": f"{settings.SITE_URL}/alerts/",
        "fields": {},
    }


def in_cooldown(alert: Alert, channel: Channel) -> bool:
    """A firing or reminder notice to this channel for this alert's subject within the cooldown."""
    since = timezone.now() - timedelta(minutes=alert.rule.cooldown_minutes)
    return Delivery.objects.filter(
        alert__rule_id=alert.rule_id,
        alert__fingerprint=alert.fingerprint,
        channel=channel,
        event__in=("firing", "reminder"),
        created__gt=since,
    ).exists()


def enqueue(delivery: Delivery) -> None:
    deliver.delay_on_commit(delivery.id)


def notify(alert: Alert, event: str) -> list[Delivery]:
    """Write one delivery per channel of the alert's rule; call inside the change's transaction.

    Held back while the alert is silenced; firing notices and reminders also within the
    cooldown. A resolved notice goes only to channels that heard about the alert.
    """
    if alert.is_suppressed():
        record(
            alert, "notification held", detail=f"{event}: silenced until {alert.suppressed_until:%Y-%m-%d %H:%M} UTC"
        )
        return []
    deliveries = []
    for channel in alert.rule.channels.all():
        if not channel.enabled:
            record(alert, "notification skipped", detail=f"{event}: channel {channel.name!r} is disabled")
            continue
        if event == "resolved" and not alert.deliveries.filter(channel=channel).exists():
            continue
        if event in ("firing", "reminder") and in_cooldown(alert, channel):
            record(alert, "notification held", detail=f"{event}: channel {channel.name!r} is in its cooldown")
            continue
        deliveries.append(Delivery(alert=alert, channel=channel, event=event, message=message_for(alert, event)))
    Delivery.objects.bulk_create(deliveries)
    for delivery in deliveries:
        enqueue(delivery)
    return deliveries


def send_test(channel: Channel) -> Delivery:
    with transaction.atomic():
        delivery = Delivery.objects.create(channel=channel, event="test", message=test_message())
        enqueue(delivery)
    return delivery


def retry(delivery: Delivery, actor: AbstractBaseUser | None = None) -> bool:
    """Put a dead-lettered delivery back in the outbox for a fresh round of attempts."""
    with transaction.atomic():
        changed = Delivery.objects.filter(id=delivery.id, state=DeliveryState.DEAD).update(
            state=DeliveryState.PENDING, attempts=0, next_attempt_at=timezone.now(), claimed_at=None
        )
        if not changed:
            return False
        detail = (
            f"{delivery.event} to {delivery.channel.kind} channel {delivery.channel.name!r} (delivery {delivery.id})"
        )
        record(delivery.alert, "delivery retried", actor=actor, detail=detail)
        enqueue(delivery)
    return True
