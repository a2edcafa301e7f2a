"""The outbox: notifications are Delivery rows written in the alert change's transaction.

A Celery task sends each one after commit (`delay_on_commit`); the periodic sweep
(`alerts.delivery.sweep`) resends any that a lost task left behind.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from . import delivery as sending
from . import inhibition
from .delivery import deliver
from .models import Alert, Channel, Delivery, DeliveryState
from .timeline import number, record
from .transports import TRANSPORTS, ConfigError, Message, TransportError

EVENT_WORDS = {
    "firing": "Firing",
    "acknowledged": "Acknowledged",
    "resolved": "Resolved",
    "reminder": "Still firing",
    "test": "Test",
}
# Notices that mirror the alert's state to a receiver that keeps its own (PagerDuty):
# they reach only channels that heard of the alert, and a silence does not hold them back.
MIRRORED = ("acknowledged", "resolved")


def dedup_key(alert: Alert) -> str:
    """What every notice of one alert shares, for receivers that group by it (PagerDuty)."""
    return f"resilience-monitor:alert:{alert.id}"


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
        "dedup_key": dedup_key(alert),
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


def takes(channel: Channel, event: str) -> bool:
    cls = TRANSPORTS.get(channel.kind)
    return cls is not None and event in cls.events


def mirrors(channel: Channel) -> bool:
    """The channel keeps an incident of its own (PagerDuty): it hears acknowledgements."""
    return takes(channel, "acknowledged")


def notify(alert: Alert, event: str) -> list[Delivery]:
    """Write one delivery per channel of the alert's rule; call inside the change's transaction.

    Each channel gets the events its kind takes (Transport.events). Held back while the
    alert is silenced, except a MIRRORED notice to a channel that mirrors the alert's state;
    firing notices and reminders also within the cooldown. A resolved or acknowledged notice
    goes only to channels that heard about the alert.
    """
    if inhibition.hold(alert, event):
        return []
    every = list(alert.rule.channels.all())
    channels = [channel for channel in every if takes(channel, event)]
    if every and not channels:
        # None of the rule's channels takes it (an acknowledgement, and no PagerDuty): nothing to hold.
        return []
    if alert.is_suppressed():
        channels = [channel for channel in channels if event in MIRRORED and mirrors(channel)]
        kept = ", ".join(repr(channel.name) for channel in channels)
        detail = f"{event}: silenced until {alert.suppressed_until:%Y-%m-%d %H:%M} UTC"
        record(
            alert, "notification held", detail=detail + (f"; still sent to {kept}, which mirrors it" if kept else "")
        )
    deliveries = []
    for channel in channels:
        if not channel.enabled:
            record(alert, "notification skipped", detail=f"{event}: channel {channel.name!r} is disabled")
            continue
        if event in MIRRORED and not alert.deliveries.filter(channel=channel).exists():
            continue
        if event in ("firing", "reminder") and in_cooldown(alert, channel):
            record(alert, "notification held", detail=f"{event}: channel {channel.name!r} is in its cooldown")
            continue
        deliveries.append(Delivery(alert=alert, channel=channel, event=event, message=message_for(alert, event)))
    Delivery.objects.bulk_create(deliveries)
    for delivery in deliveries:
        enqueue(delivery)
    return deliveries


@dataclass(frozen=True)
class SendTestResult:
    """What a test notification got: "sent" with the receiver's answer, "failed" with the
    error, or "queued" behind the channel's rate limit (the worker sends it then)."""

    state: str
    answer: str
    error: str
    elapsed_ms: float


def send_test(channel: Channel) -> tuple[Delivery, SendTestResult]:
    """Send a test notification now, in this request, and say what the receiver answered.

    It is a delivery like any other (it counts against the rate limit and shows among the
    channel's deliveries), sent once: a failure is dead-lettered at once, not retried on a
    schedule; Retry now sends it again. A disabled channel is tested too: that is how one
    checks a fix before turning it back on. The outbound timeout bounds the wait.
    """
    now = timezone.now()
    with transaction.atomic():
        # Claimed by this request from the start: the sweep leaves it alone for its lease.
        delivery = Delivery.objects.create(
            channel=channel,
            event="test",
            message=test_message(),
            state=DeliveryState.SENDING,
            attempts=1,
            claimed_at=now,
        )
    delivery.channel = channel
    started = time.monotonic()
    try:
        transport = channel.transport()
        recipients = transport.recipients()
    except ConfigError as error:
        return delivery, failed(delivery, TransportError(f"bad channel config: {error}"), started)
    until = sending.rate_limited_until(delivery, recipients, now)
    if until is not None:
        sending.release(delivery, state=DeliveryState.PENDING, attempts=0, next_attempt_at=until)
        sending.schedule_retry(delivery, until)
        note = f"not sent yet: the channel's rate limit is used up; it goes out at {until:%H:%M:%S} UTC"
        return delivery, SendTestResult(DeliveryState.PENDING, "", note, 0.0)
    message = Message(**delivery.message, idempotency_key=str(delivery.idempotency_key))
    try:
        answer = transport.notify(message)
    except TransportError as error:
        return delivery, failed(delivery, error, started)
    elapsed = elapsed_ms(started)
    sending.succeed(delivery, recipients)
    return delivery, SendTestResult(DeliveryState.SENT, answer, "", elapsed)


def elapsed_ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def failed(delivery: Delivery, error: TransportError, started: float) -> SendTestResult:
    elapsed = elapsed_ms(started)
    error.permanent = True  # a test is sent once
    sending.fail(delivery, error)
    return SendTestResult(DeliveryState.DEAD, "", error.message, elapsed)


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
