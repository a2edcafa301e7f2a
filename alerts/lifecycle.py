"""An alert's life: fire, acknowledge, suppress, resolve, comment.

Every state change is a conditional update (act only when one row changed), so two
evaluators or two clicks never both win; every change and every timeline line goes
through `record()`, the one place that writes an Event. Each change brings the alert's
incident in line (`incidents.sync`), which sends the notices: they are per incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from . import health_flags, incidents, inhibition, silences
from .models import OPEN_STATES, Alert, AlertState, Event, Rule
from .timeline import number, record


class NotApplicable(Exception):
    """The action does not apply to the alert's current state (answered 409)."""


@dataclass(frozen=True)
class Observation:
    """A rule's metric on one subject, as one evaluation round read it."""

    fingerprint: str
    service: str
    subject: str
    value: float | None
    # Set when one rule keeps alerts of several kinds (an SLO's burn-rate alerts): the alert's
    # own severity, threshold and summary instead of the rule's.
    severity: str = ""
    threshold: float | None = None
    summary: str = ""


def describe(rule: Rule, observation: Observation) -> str:
    if observation.summary:
        return observation.summary
    value = number(observation.value)
    return f"{rule.metric} is {value} ({rule.op} {rule.threshold:g}) on {observation.service}/{observation.subject}"


def fire(rule: Rule, observation: Observation) -> Alert | None:
    """Open an alert, or None when another evaluator already has one open for this subject."""
    now = timezone.now()
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                rule=rule,
                fingerprint=observation.fingerprint,
                service=observation.service,
                subject=observation.subject,
                metric=rule.metric,
                severity=observation.severity or rule.severity,
                value=observation.value,
                threshold=rule.threshold if observation.threshold is None else observation.threshold,
                summary=describe(rule, observation)[:500],
                started_at=now,
                next_reminder_at=now + timedelta(minutes=rule.cooldown_minutes),
                suppressed_until=silences.suppressed_until(
                    rule, observation.fingerprint, observation.service, observation.subject, now
                ),
            )
            record(alert, "fired", detail=alert.summary)
            incidents.attach(alert, rule)
            health_flags.refresh_subject(alert.fingerprint)
    except IntegrityError:
        return None
    return alert


def resolve(alert: Alert, actor: AbstractBaseUser | None = None, value: float | None = None, comment: str = "") -> bool:
    now = timezone.now()
    with transaction.atomic():
        changed = Alert.objects.filter(id=alert.id, state__in=OPEN_STATES).update(
            state=AlertState.RESOLVED, resolved_at=now, ack_expires_at=None, next_reminder_at=None, clear_since=None
        )
        if not changed:
            return False
        alert.state, alert.resolved_at = AlertState.RESOLVED, now
        if comment:
            detail = comment
        elif actor is None:
            detail = "the condition cleared" + ("" if value is None else f" ({alert.metric} is {number(value)})")
        else:
            detail = "resolved by hand"
        record(alert, "resolved", actor=actor, detail=detail)
        incidents.sync(alert.incident_id)
        health_flags.refresh_subject(alert.fingerprint)
    return True


def acknowledge(
    alert: Alert, actor: AbstractBaseUser | None, reason: str = "", remind_after_minutes: int | None = None
) -> bool:
    now = timezone.now()
    expires = now + timedelta(minutes=remind_after_minutes) if remind_after_minutes else None
    with transaction.atomic():
        changed = Alert.objects.filter(id=alert.id, state=AlertState.FIRING).update(
            state=AlertState.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=actor, ack_expires_at=expires
        )
        if not changed:
            return False
        detail = reason
        if expires:
            detail = f"{reason} (remind again if still firing after {remind_after_minutes} min)".strip()
        record(alert, "acknowledged", actor=actor, detail=detail)
        # The incident follows; once acknowledged it is mirrored to PagerDuty (incidents.sync).
        incidents.sync(alert.incident_id)
    return True


def unacknowledge(alert: Alert, actor: AbstractBaseUser | None = None, detail: str = "") -> bool:
    """Back to firing; reminders resume. actor None: the acknowledgement lapsed by itself."""
    now = timezone.now()
    with transaction.atomic():
        changed = Alert.objects.filter(id=alert.id, state=AlertState.ACKNOWLEDGED).update(
            state=AlertState.FIRING,
            acknowledged_at=None,
            acknowledged_by=None,
            ack_expires_at=None,
            next_reminder_at=now,
        )
        if not changed:
            return False
        alert.state, alert.next_reminder_at = AlertState.FIRING, now
        alert.acknowledged_at = alert.acknowledged_by = alert.ack_expires_at = None
        action = "unacknowledged" if actor is not None else "acknowledgement lapsed"
        record(alert, action, actor=actor, detail=detail)
        incidents.sync(alert.incident_id, remind_now=True)
    return True


def suppress(alert: Alert, actor: AbstractBaseUser | None, minutes: int, comment: str = "") -> bool:
    """Silence this alert's notifications for a while (a silence matching its fingerprint)."""
    until = timezone.now() + timedelta(minutes=minutes)
    with transaction.atomic():
        changed = Alert.objects.filter(id=alert.id, state__in=OPEN_STATES).update(suppressed_until=until)
        if not changed:
            return False
        silences.for_alert(alert, actor, until, comment)
        alert.suppressed_until = until
        detail = f"for {minutes} min, until {until:%Y-%m-%d %H:%M} UTC" + (f": {comment}" if comment else "")
        record(alert, "suppressed", actor=actor, detail=detail)
    return True


def comment(alert: Alert, actor: AbstractBaseUser | None, text: str) -> Event:
    return record(alert, "comment", actor=actor, detail=text)


def set_suppression(alert: Alert, until: datetime | None) -> None:
    """Show a silence that started or ended (maintenance windows) on the alert."""
    with transaction.atomic():
        changed = Alert.objects.filter(id=alert.id, suppressed_until=alert.suppressed_until).update(
            suppressed_until=until
        )
        if not changed:
            return
        alert.suppressed_until = until
        if until is None:
            record(alert, "suppression ended", detail="no silence matches any more")
        else:
            record(alert, "suppressed", detail=f"by a silence until {until:%Y-%m-%d %H:%M} UTC")


def set_inhibition(alert: Alert, inhibitor: Alert | None) -> None:
    """Show an inhibition that began, changed or ended on the alert. One that ended sends the
    notice it held back, once, through its incident: not for an alert acknowledged meanwhile
    or already named in a notice of its incident."""
    with transaction.atomic():
        if inhibitor is not None:
            inhibition.mark(alert, inhibitor)
            return
        if inhibition.unmark(alert) and inhibition.owes_firing(alert):
            # Through the incident's notice path: named in its next notice (an update, or the
            # first notice still waiting), within the group interval.
            incidents.sync(alert.incident_id, added=True)
