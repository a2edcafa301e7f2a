"""Sending one delivery: claim it, respect rate limits, call the transport, record the outcome.

Retries follow MONITOR_DELIVERY_SCHEDULE_S (exponential, with jitter; Retry-After wins
when it asks for longer); a permanent error or the end of the schedule dead-letters the
delivery with its last error.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from monitoring.tasks_engine import task_engine

from .models import Delivery, DeliveryState, RecipientSend
from .timeline import record
from .transports import ConfigError, Message, TransportError

log = logging.getLogger(__name__)
# A notice held back behind an earlier one to the same channel is tried again after this.
HELD_BACK_RETRY_S = 5
# MONITOR_RECIPIENT_RATE_PER_HOUR counts sends over this window; older sends are forgotten.
RECIPIENT_WINDOW = timedelta(hours=1)


def lease() -> timedelta:
    return timedelta(seconds=settings.MONITOR_DELIVERY_LEASE_S)


def due(now: datetime) -> Q:
    """Deliveries a worker may take: pending and due, or claimed by a worker that vanished."""
    pending = Q(state=DeliveryState.PENDING, next_attempt_at__lte=now)
    abandoned = Q(state=DeliveryState.SENDING, claimed_at__lt=now - lease())
    return pending | abandoned


def waiting_behind() -> Exists:
    """An earlier notice of the same alert to the same channel is not sent yet.

    A resolved notice must never arrive before the firing notice it closes, however the
    tasks or the sweep happen to run.
    """
    earlier = Delivery.objects.filter(
        alert_id=OuterRef("alert_id"),
        channel_id=OuterRef("channel_id"),
        id__lt=OuterRef("id"),
        state__in=[DeliveryState.PENDING, DeliveryState.SENDING],
    )
    return Exists(earlier)


def claim(delivery_id: int) -> Delivery | None:
    now = timezone.now()
    changed = (
        Delivery.objects.filter(due(now), id=delivery_id)
        .exclude(waiting_behind())
        .update(state=DeliveryState.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    )
    if not changed:
        return None
    return Delivery.objects.select_related("channel", "alert__rule").get(id=delivery_id)


def wait_for_earlier(delivery_id: int) -> None:
    """Try again shortly when an earlier notice to the same channel held this one back."""
    held = Delivery.objects.filter(id=delivery_id, state=DeliveryState.PENDING).filter(waiting_behind())
    if held.exists():
        task_engine().run_at(deliver, (delivery_id,), timezone.now() + timedelta(seconds=HELD_BACK_RETRY_S))


def label(delivery: Delivery) -> str:
    return f"{delivery.event} to {delivery.channel.kind} channel {delivery.channel.name!r}"


def note(delivery: Delivery, action: str, detail: str) -> None:
    if delivery.alert_id is not None:
        record(delivery.alert, action, detail=detail)
    else:
        record(None, action, detail=detail)


def release(delivery: Delivery, **changes: object) -> bool:
    """Finish this claim, unless the sweep has handed the delivery to someone else meanwhile."""
    changed = Delivery.objects.filter(
        id=delivery.id, state=DeliveryState.SENDING, claimed_at=delivery.claimed_at
    ).update(**changes)
    return changed == 1


def schedule_retry(delivery: Delivery, at: datetime) -> None:
    task_engine().run_at(deliver, (delivery.id,), at)


def rate_limited_until(delivery: Delivery, recipients: list[str], now: datetime) -> datetime | None:
    channel = delivery.channel
    per_minute = channel.rate_per_minute or settings.MONITOR_CHANNEL_RATE_PER_MINUTE
    minute_ago = now - timedelta(minutes=1)
    recent = Delivery.objects.filter(channel=channel, sent_at__gt=minute_ago).order_by("sent_at")
    if recent.count() >= per_minute:
        return recent.values_list("sent_at", flat=True)[0] + timedelta(minutes=1)
    per_hour = settings.MONITOR_RECIPIENT_RATE_PER_HOUR
    window_start = now - RECIPIENT_WINDOW
    for recipient in recipients:
        sends = RecipientSend.objects.filter(recipient=recipient[:500], at__gt=window_start).order_by("at")
        if sends.count() >= per_hour:
            return sends.values_list("at", flat=True)[0] + RECIPIENT_WINDOW
    return None


def backoff(attempts: int, retry_after: float | None) -> float:
    schedule = settings.MONITOR_DELIVERY_SCHEDULE_S
    base = schedule[min(attempts, len(schedule)) - 1]
    delay = base * random.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, 24 * 3600.0))
    return delay


def send(delivery_id: int) -> str:
    """Make one attempt at one delivery; returns its state afterwards ("" if not claimed)."""
    delivery = claim(delivery_id)
    if delivery is None:
        wait_for_earlier(delivery_id)
        return ""
    channel = delivery.channel
    if not channel.enabled:
        return fail(delivery, TransportError(f"channel is disabled: {channel.disabled_reason}", permanent=True))
    try:
        transport = channel.transport()
        recipients = transport.recipients()
    except (ConfigError, KeyError) as error:
        return fail(delivery, TransportError(f"bad channel config: {error}", permanent=True))
    now = timezone.now()
    until = rate_limited_until(delivery, recipients, now)
    if until is not None:
        # Over a rate limit: wait without spending an attempt.
        release(delivery, state=DeliveryState.PENDING, attempts=F("attempts") - 1, next_attempt_at=until)
        schedule_retry(delivery, until)
        return DeliveryState.PENDING
    message = Message(**delivery.message, idempotency_key=str(delivery.idempotency_key))
    try:
        transport.notify(message)
    except TransportError as error:
        return fail(delivery, error)
    return succeed(delivery, recipients)


def succeed(delivery: Delivery, recipients: list[str]) -> str:
    now = timezone.now()
    with transaction.atomic():
        if not release(delivery, state=DeliveryState.SENT, sent_at=now, last_error=""):
            return ""
        RecipientSend.objects.bulk_create([RecipientSend(recipient=r[:500], at=now) for r in recipients])
        note(delivery, "notified", f"{label(delivery)} sent (attempt {delivery.attempts})")
    return DeliveryState.SENT


def fail(delivery: Delivery, error: TransportError) -> str:
    message = error.message[:1000]
    last = delivery.attempts > len(settings.MONITOR_DELIVERY_SCHEDULE_S)
    with transaction.atomic():
        if error.permanent or last:
            if not release(delivery, state=DeliveryState.DEAD, last_error=message):
                return ""
            note(delivery, "notification failed", f"{label(delivery)} failed (attempt {delivery.attempts}): {message}")
            note(delivery, "dead-lettered", f"{label(delivery)} gave up after {delivery.attempts} attempt(s)")
            if error.disable_channel and delivery.channel.disable(message):
                note(delivery, "channel disabled", f"channel {delivery.channel.name!r}: {message}")
            return DeliveryState.DEAD
        at = timezone.now() + timedelta(seconds=backoff(delivery.attempts, error.retry_after))
        if not release(delivery, state=DeliveryState.PENDING, last_error=message, next_attempt_at=at):
            return ""
        note(
            delivery,
            "notification failed",
            f"{label(delivery)} failed (attempt {delivery.attempts}): {message}; retry at {at:%H:%M:%S} UTC",
        )
        schedule_retry(delivery, at)
    return DeliveryState.PENDING


def sweep() -> int:
    """Send what no queued task will: retries an in-process engine could not schedule,
    and deliveries a lost task left behind (pending past their time, or claimed by a
    worker that vanished)."""
    now = timezone.now()
    grace = lease() if task_engine().schedules_later else timedelta(0)
    left_behind = Q(state=DeliveryState.PENDING, next_attempt_at__lte=now - grace) | Q(
        state=DeliveryState.SENDING, claimed_at__lt=now - lease()
    )
    ids = list(Delivery.objects.filter(left_behind).order_by("id").values_list("id", flat=True)[:500])
    for delivery_id in ids:
        deliver.delay(delivery_id)
    return len(ids)


# Named as before the task moved here, so messages already queued still find it.
@shared_task(name="alerts.tasks.deliver", acks_late=True, reject_on_worker_lost=True)
def deliver(delivery_id: int) -> None:
    send(delivery_id)
