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
from .models import Alert, Channel, Delivery, DeliveryState, Incident, Metric
from .timeline import number, record
from .transports import TRANSPORTS, ConfigError, Message, TransportError

EVENT_WORDS = {
    "firing": "Firing",
    "updated": "Updated",
    "acknowledged": "Acknowledged",
    "resolved": "Resolved",
    "reminder": "Still firing",
    "escalated": "Escalated",
    "test": "Test",
}
FIRING = "firing"
# The events after which a channel has heard of the incident: its firing notice, or an
# escalation step's notice (alerts/escalation.py).
HEARD = ("firing", "escalated")
# Notices that mirror the incident's state to a receiver that keeps its own (PagerDuty):
# they reach only channels that heard of the incident, and a silence does not hold them back.
MIRRORED = ("acknowledged", "resolved")
# The notices inhibition holds back for an alert (inhibition.HELD_EVENTS, and an update).
NOTIFYING = ("firing", "updated", "reminder")
HELD_AS = {"updated": "firing"}


def dedup_key(incident: Incident) -> str:
    """What every notice of one incident shares, for receivers that group by it (PagerDuty):
    its incident there opens and closes with ours."""
    return f"resilience-monitor:incident:{incident.id}"


def alert_url(alert: Alert) -> str:
    return f"{settings.SITE_URL}/alerts/{alert.id}/"


def threshold_text(alert: Alert) -> str:
    op = alert.rule.op if alert.rule else ""
    return f"{op} {alert.threshold:g}".strip()


def message_for(alert: Alert, event: str) -> dict:
    """What a notification about one alert says (an incident's notice leads with its first)."""
    value = number(alert.value)
    fields = {
        "rule": alert.rule_name,
        "service": alert.service,
        "subject": alert.subject,
        "metric": alert.metric,
        "value": value,
        "threshold": threshold_text(alert),
        "started_at": alert.started_at.isoformat(),
    }
    # A resolved notice must not read as if the firing condition still held.
    headline = f"Resolved, was: {alert.summary}" if event == "resolved" else f"{EVENT_WORDS[event]}: {alert.summary}"
    lines = [headline, f"Rule: {alert.rule_name} ({alert.severity})"]
    if alert.resolved_at:
        fields["resolved_at"] = alert.resolved_at.isoformat()
        lines.append(f"Resolved at {alert.resolved_at:%Y-%m-%d %H:%M:%S} UTC")
    return {
        "event": event,
        "alert_id": alert.id,
        "title": f"[{alert.severity}] {alert.rule_name} on {alert.service}/{alert.subject}",
        "text": "\n".join(lines),
        "severity": alert.severity,
        "url": alert_url(alert),
        "fields": fields,
    }


def alert_entry(alert: Alert) -> dict:
    """One alert as an incident's notice names it."""
    return {
        "id": alert.id,
        "rule": alert.rule_name,
        "service": alert.service,
        "subject": alert.subject,
        "metric": alert.metric,
        "severity": alert.severity,
        "state": alert.state,
        "value": number(alert.value),
        "threshold": threshold_text(alert),
        "flaps": alert.flaps,
        "started_at": alert.started_at.isoformat(),
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        "url": alert_url(alert),
    }


def alert_line(alert: Alert) -> str:
    flaps = f", flapped {alert.flaps} time{'s' if alert.flaps != 1 else ''}" if alert.flaps else ""
    line = (
        f"- {alert.rule_name} ({alert.severity}, {alert.state}{flaps}): {alert.metric} is {number(alert.value)} "
        f"({threshold_text(alert)}) on {alert.service}/{alert.subject}"
    )
    # An SLO's burn-rate alert says what its number means: the budget spent and how fast.
    return f"{line}: {alert.summary}" if alert.metric == Metric.SLO_BURN_RATE else line


def incident_message(incident: Incident, alerts: list[Alert], event: str, headline: str = "") -> dict:
    """What an incident's notice says, naming every alert in it; the first alert's fields stay
    where a single alert's notice had them, so receivers written for those keep working.
    `headline` replaces the event's word on the first line (an escalation names its step)."""
    lead = alerts[0]
    message = message_for(lead, event)
    url = f"{settings.SITE_URL}/incidents/{incident.id}/"
    many = len(alerts) > 1
    if many:
        message["title"] = f"[{incident.severity}] {len(alerts)} alerts on {incident.name}"
    words = headline or ("Resolved" if event == "resolved" else EVENT_WORDS[event])
    lines = [f"{words}: incident {incident.id} on {incident.name}, {len(alerts)} alert{'s' if many else ''}:"]
    lines += [alert_line(alert) for alert in alerts]
    message |= {
        "dedup_key": dedup_key(incident),
        "text": "\n".join(lines),
        "severity": incident.severity,
        "url": url,
        "incident": {
            "id": incident.id,
            "url": url,
            "name": incident.name,
            "state": incident.state,
            "severity": incident.severity,
            "started_at": incident.started_at.isoformat(),
            "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
            "alerts": [alert_entry(alert) for alert in alerts],
        },
    }
    return message


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


def heard(incident: Incident, channel: Channel) -> bool:
    """The channel got (or is getting) the incident's firing notice, or an escalation step's."""
    sent = Delivery.objects.filter(incident=incident, channel=channel, event__in=HEARD)
    return sent.exclude(state=DeliveryState.DEAD).exists()


def escalated_to(incident: Incident) -> list[Channel]:
    """Channels an escalation step notified of the incident (they hear its updates and end too)."""
    return list(Channel.objects.filter(deliveries__incident=incident, deliveries__event__in=HEARD).distinct())


def in_cooldown(incident: Incident, channel: Channel, cooldown: timedelta) -> bool:
    """A firing notice or reminder to this channel about the same subject (an earlier
    incident with the same key) within the cooldown."""
    return Delivery.objects.filter(
        incident__key=incident.key,
        channel=channel,
        event__in=("firing", "reminder"),
        created__gt=timezone.now() - cooldown,
    ).exists()


def channels_of(alerts: list[Alert]) -> list[Channel]:
    rules = {alert.rule_id for alert in alerts if alert.rule_id is not None}
    return list(Channel.objects.filter(rules__in=rules).distinct().order_by("id"))


def enqueue(delivery: Delivery) -> None:
    deliver.delay_on_commit(delivery.id)


def takes(channel: Channel, event: str) -> bool:
    cls = TRANSPORTS.get(channel.kind)
    return cls is not None and event in cls.events


def mirrors(channel: Channel) -> bool:
    """The channel keeps an incident of its own (PagerDuty): it hears acknowledgements."""
    return takes(channel, "acknowledged")


def notified(incident: Incident, alerts: list[Alert], event: str) -> list[Alert]:
    """The alerts a notice names: not those another alert inhibits (inhibition.hold marks
    them and says so on their timeline); they stay on the incident, not notified."""
    if event not in NOTIFYING:
        return [alert for alert in alerts if alert.inhibited_by_id is None] or alerts
    held = [alert for alert in alerts if alert.is_open and inhibition.hold(alert, HELD_AS.get(event, event))]
    if held:
        names = ", ".join(f"{alert.rule_name} on {alert.service}/{alert.subject}" for alert in held)
        record(None, "not notified", detail=f"{event}: inhibited: {names}", incident=incident)
    # A resolved alert that was inhibited when it resolved was never named either.
    return [alert for alert in alerts if alert not in held and (alert.is_open or alert.inhibited_by_id is None)]


def told(incident: Incident) -> list[tuple[int, str]]:
    """The alerts (and their states) the incident's last firing or updated notice named."""
    last = Delivery.objects.filter(incident=incident, event__in=("firing", "updated")).order_by("-created", "-id")
    message = last.values_list("message", flat=True).first() or {}
    return [(entry["id"], entry["state"]) for entry in (message.get("incident") or {}).get("alerts", [])]


def notify(incident: Incident, event: str) -> list[Delivery]:
    """Write one delivery per channel of the incident's rules; call inside the change's transaction.

    Each channel gets the events its kind takes (Transport.events). Inhibited alerts are left
    out of a notice; one whose alerts are all inhibited sends nothing. Held back while every
    open alert of it is silenced, except a MIRRORED notice to a channel that mirrors the
    incident's state. A resolved, acknowledged notice or a reminder goes only to channels
    that got its firing notice; an update to a channel that never did is that channel's
    firing notice. Firing notices and reminders wait out the cooldown.
    """
    everything = list(incident.alerts.select_related("rule").order_by("started_at", "id"))
    if not everything:
        return []
    alerts = notified(incident, everything, event)
    if not alerts:
        return []
    if event == "updated" and told(incident) == [(alert.id, alert.state) for alert in alerts]:
        # What changed is an inhibited alert: the notice would repeat the last one.
        record(None, "notification dropped", detail="updated: nothing new to tell", incident=incident)
        return []
    lead = alerts[0]
    every = channels_of(everything)
    every += [channel for channel in escalated_to(incident) if channel not in every]
    channels = [
        channel for channel in every if takes(channel, event) or (event == "updated" and takes(channel, "firing"))
    ]
    if every and not channels:
        # None of the rules' channels takes it (an acknowledgement, and no PagerDuty): nothing to hold.
        return []
    shown = [a for a in alerts if a.is_open] or alerts
    if all(alert.is_suppressed() for alert in shown):
        until = min(alert.suppressed_until for alert in shown)
        channels = [channel for channel in channels if event in MIRRORED and mirrors(channel)]
        kept = ", ".join(repr(channel.name) for channel in channels)
        detail = f"{event}: silenced until {until:%Y-%m-%d %H:%M} UTC"
        detail += f"; still sent to {kept}, which mirrors it" if kept else ""
        record(None, "notification held", detail=detail, incident=incident)
    rules = [a.rule.cooldown_minutes for a in everything if a.rule is not None and a.is_open]
    cooldown = timedelta(minutes=min(rules, default=60))
    deliveries = []
    for channel in channels:
        kind = event
        if not channel.enabled:
            record(
                None, "notification skipped", detail=f"{event}: channel {channel.name!r} is disabled", incident=incident
            )
            continue
        if event in ("resolved", "reminder", "acknowledged") and not heard(incident, channel):
            continue
        if event == "updated" and not heard(incident, channel):
            kind = "firing"
            if not takes(channel, kind):
                continue
        elif not takes(channel, kind):
            continue
        if kind in ("firing", "reminder") and in_cooldown(incident, channel, cooldown):
            detail = f"{kind}: channel {channel.name!r} is in its cooldown"
            record(None, "notification held", detail=detail, incident=incident)
            continue
        message = incident_message(incident, alerts, kind)
        deliveries.append(Delivery(alert=lead, incident=incident, channel=channel, event=kind, message=message))
    Delivery.objects.bulk_create(deliveries)
    for delivery in deliveries:
        enqueue(delivery)
    return deliveries


def notify_channels(incident: Incident, channels: list[Channel], event: str, step: str) -> list[Delivery]:
    """An escalation step's notice to its channels (call inside the step's transaction): the
    incident's notice, its title and first line naming the step ("step 2 of Payments on-call");
    no cooldown (a step is paged once); a disabled channel is skipped, noted on the timeline."""
    headline = f"Escalated to {step}" if event == "escalated" else f"{EVENT_WORDS[event]} ({step})"
    # The alerts the notice names, leaving out inhibited ones; the rules' own notice already
    # said on the timeline which it held back.
    alerts = notified(incident, list(incident.alerts.select_related("rule").order_by("started_at", "id")), "escalated")
    if not alerts:
        return []
    deliveries = []
    for channel in channels:
        if not channel.enabled:
            detail = f"{event}: channel {channel.name!r} is disabled"
            record(None, "notification skipped", detail=detail, incident=incident)
            continue
        if not takes(channel, event):
            continue
        message = incident_message(incident, alerts, event, headline)
        message["title"] = f"{message['title']} ({step})"
        deliveries.append(Delivery(alert=alerts[0], incident=incident, channel=channel, event=event, message=message))
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
