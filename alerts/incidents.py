"""Incidents: alerts open at the same time on one subject (or one service) become one
incident, and notifications are per incident.

- A fired alert joins the open incident with its key (`key_for`), or opens one.
- A new incident's first notice ("firing") waits MONITOR_GROUP_WAIT_S, so a breaker and the
  error rate it causes arrive together; an alert added later, or a higher severity, sends
  one "updated" notice, at most every MONITOR_GROUP_INTERVAL_S; when all its alerts are
  resolved, one "resolved" notice (none at all if it ended before its first notice went).
- The notice waiting to go is kept on the incident (`pending_event`, `notify_at`) and sent by
  `flush`: a countdown task where tasks can wait, else the next evaluation round
  (`flush_due`). Claiming it is a conditional update, so two workers never both send it.
- Reminders ("reminder") every cooldown while some alert of it fires unacknowledged.
- Once all its firing alerts are acknowledged, "acknowledged" goes at once to the channel
  kinds that mirror it (PagerDuty), which heard of the incident.

The incident's state follows its alerts: `sync` is called by every alert change (lifecycle).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from monitoring.tasks_engine import task_engine

from . import escalation, outbox
from .models import (
    OPEN_INCIDENT_STATES,
    SEVERITY_RANK,
    Alert,
    AlertState,
    Delivery,
    GroupBy,
    Incident,
    IncidentState,
    Rule,
)
from .timeline import acting, record

FIRING, UPDATED, REMINDER, RESOLVED = "firing", "updated", "reminder", "resolved"
ACKNOWLEDGED = "acknowledged"
# A rule deleted since its alert fired: its cooldown is gone with it.
DEFAULT_COOLDOWN_MINUTES = 60


def group_wait() -> timedelta:
    return timedelta(seconds=settings.MONITOR_GROUP_WAIT_S)


def group_interval() -> timedelta:
    return timedelta(seconds=settings.MONITOR_GROUP_INTERVAL_S)


def key_for(rule: Rule, service: str, subject: str) -> tuple[str, str]:
    """The grouping key of an alert of this rule, and the subject the incident names."""
    if rule.group_by == GroupBy.SERVICE:
        return f"service:{service}", ""
    return f"subject:{service}/{subject}", subject


def highest(severities: list[str]) -> str:
    return min(severities, key=lambda s: SEVERITY_RANK.get(s, len(SEVERITY_RANK)))


def attach(alert: Alert, rule: Rule) -> Incident:
    """Put a newly fired alert into its key's open incident, or open one (inside fire's transaction)."""
    key, subject = key_for(rule, alert.service, alert.subject)
    incident = Incident.objects.select_for_update().filter(key=key, state__in=OPEN_INCIDENT_STATES).first()
    if incident is None:
        incident, opened = open_incident(alert, key, subject)
        if opened:
            return incident
    Alert.objects.filter(id=alert.id).update(incident=incident)
    alert.incident = incident
    record(None, "alert added", detail=f"{alert.rule_name} on {alert.service}/{alert.subject}", incident=incident)
    sync(incident, added=True)
    return incident


def open_incident(alert: Alert, key: str, subject: str) -> tuple[Incident, bool]:
    """A new incident holding this alert, its first notice due after the group wait (True);
    or the one another evaluator opened meanwhile, without this alert (False)."""
    try:
        with transaction.atomic():
            incident = Incident.objects.create(
                key=key,
                service=alert.service,
                subject=subject,
                severity=alert.severity,
                started_at=alert.started_at,
                pending_event=FIRING,
                notify_at=alert.started_at + group_wait(),
                escalation_policy_id=escalation.policy_for(alert.rule, alert.service),
            )
    except IntegrityError:
        return Incident.objects.select_for_update().get(key=key, state__in=OPEN_INCIDENT_STATES), False
    Alert.objects.filter(id=alert.id).update(incident=incident)
    alert.incident = incident
    record(
        None, "incident opened", detail=f"by {alert.rule_name} on {alert.service}/{alert.subject}", incident=incident
    )
    schedule(incident)
    return incident, True


def sync(incident: Incident | int | None, added: bool = False, remind_now: bool = False) -> Incident | None:
    """Bring the incident's state and severity in line with its alerts (call inside the
    alert change's transaction) and line up the notice that change calls for."""
    if incident is None:
        return None
    incident_id = incident if isinstance(incident, int) else incident.id
    incident = Incident.objects.select_for_update().get(id=incident_id)
    alerts = list(incident.alerts.select_related("acknowledged_by"))
    if not alerts:
        return incident
    now = timezone.now()
    before_state, before_severity, before_notice = incident.state, incident.severity, incident.notify_at
    incident.severity = highest([a.severity for a in alerts])
    incident.state = state_of(alerts)
    changes = ["state", "severity"]
    if incident.state == IncidentState.ACKNOWLEDGED and before_state != IncidentState.ACKNOWLEDGED:
        last = max((a for a in alerts if a.acknowledged_at), key=lambda a: a.acknowledged_at, default=None)
        incident.acknowledged_at = last.acknowledged_at if last else now
        incident.acknowledged_by = last.acknowledged_by if last else None
        changes += ["acknowledged_at", "acknowledged_by"]
    elif incident.state == IncidentState.OPEN and before_state == IncidentState.ACKNOWLEDGED:
        incident.acknowledged_at = incident.acknowledged_by = None
        changes += ["acknowledged_at", "acknowledged_by"]
        if remind_now and incident.notified_at is not None:
            incident.next_reminder_at = now
            changes.append("next_reminder_at")
    if incident.state == IncidentState.RESOLVED and before_state != IncidentState.RESOLVED:
        incident.resolved_at = now
        incident.next_reminder_at = None
        changes += ["resolved_at", "next_reminder_at", *close(incident, now)]
    elif incident.state != IncidentState.RESOLVED and (added or incident.severity != before_severity):
        changes += update_due(incident, now)
    incident.save(update_fields=sorted(set(changes)))
    if before_state != incident.state:
        record(None, f"incident {incident.state}", detail=incident_words(alerts), incident=incident)
        if incident.state == IncidentState.ACKNOWLEDGED and incident.notified_at is not None:
            # Mirrored at once to the kinds that keep an incident of their own (PagerDuty).
            outbox.notify(incident, ACKNOWLEDGED)
        stop_escalation(incident)
    if incident.notify_at != before_notice:
        schedule(incident)
    return incident


def stop_escalation(incident: Incident) -> None:
    """Acknowledging stops the incident's escalation; resolving ends it."""
    if incident.state == IncidentState.ACKNOWLEDGED:
        # An action link acknowledges with no user: it names the recipient (timeline.acting_as).
        who = incident.acknowledged_by.get_username() if incident.acknowledged_by else acting.get() or "someone"
        escalation.stop(incident, "escalation stopped", f"acknowledged by {who}")
    elif incident.state == IncidentState.RESOLVED:
        escalation.stop(incident, "escalation ended", "the incident resolved")


def state_of(alerts: list[Alert]) -> str:
    if any(a.state == AlertState.FIRING for a in alerts):
        return IncidentState.OPEN
    if any(a.state == AlertState.ACKNOWLEDGED for a in alerts):
        return IncidentState.ACKNOWLEDGED
    return IncidentState.RESOLVED


def incident_words(alerts: list[Alert]) -> str:
    counts = {state: sum(a.state == state for a in alerts) for state in AlertState.values}
    return ", ".join(f"{n} {state}" for state, n in counts.items() if n)


def close(incident: Incident, now: datetime) -> list[str]:
    """All its alerts are resolved: a resolved notice, or none if nothing was sent yet."""
    if incident.notified_at is None:
        record(None, "notification dropped", detail="resolved before its first notice went out", incident=incident)
        incident.pending_event, incident.notify_at = "", None
    else:
        incident.pending_event, incident.notify_at = RESOLVED, now
    return ["pending_event", "notify_at"]


def update_due(incident: Incident, now: datetime) -> list[str]:
    """An alert was added, or the severity rose: an "updated" notice, within the group interval.
    Before the first notice went out there is nothing to do: that notice names everything."""
    if incident.pending_event == FIRING or incident.notified_at is None:
        return []
    at = max(now, incident.notified_at + group_interval())
    if incident.pending_event == UPDATED and incident.notify_at is not None:
        at = min(at, incident.notify_at)
    incident.pending_event, incident.notify_at = UPDATED, at
    return ["pending_event", "notify_at"]


def schedule(incident: Incident) -> None:
    """Send a due notice now (in this transaction: the outbox); a later one when its time comes."""
    if incident.notify_at is None:
        return
    if incident.notify_at <= timezone.now():
        flush(incident.id)
    else:
        task_engine().run_at(notify_incident, (incident.id,), incident.notify_at)


def flush(incident_id: int) -> list[Delivery]:
    """Send the incident's waiting notice if it is due; the conditional update sends it once."""
    now = timezone.now()
    with transaction.atomic():
        incident = Incident.objects.filter(id=incident_id, notify_at__lte=now).first()
        if incident is None or not incident.pending_event:
            return []
        event = incident.pending_event
        reminder = None if incident.state == IncidentState.RESOLVED else now + cooldown(incident)
        changed = Incident.objects.filter(id=incident.id, notify_at=incident.notify_at, pending_event=event).update(
            pending_event="", notify_at=None, notified_at=now, next_reminder_at=reminder
        )
        if not changed:
            return []
        incident.notified_at, incident.next_reminder_at = now, reminder
        sent = outbox.notify(incident, event)
        if event in (FIRING, UPDATED):
            # Its first notice that goes out runs the first step of its escalation policy.
            escalation.start(incident, now)
        return sent


def flush_due(now: datetime | None = None) -> int:
    """Send every notice that is due: what no countdown task will (the in-process engine), or
    what a lost task left behind."""
    now = now or timezone.now()
    ids = list(Incident.objects.filter(notify_at__lte=now).order_by("notify_at").values_list("id", flat=True)[:500])
    return sum(bool(flush(incident_id)) for incident_id in ids)


def cooldown(incident: Incident, alerts: list[Alert] | None = None) -> timedelta:
    """The shortest cooldown of its open alerts' rules (`alerts`: its alerts with their rules,
    when the caller read them already): how often it reminds."""
    alerts = list(incident.alerts.select_related("rule")) if alerts is None else alerts
    minutes = [a.rule.cooldown_minutes for a in alerts if a.is_open and a.rule is not None]
    return timedelta(minutes=min(minutes, default=DEFAULT_COOLDOWN_MINUTES))


def remind_due(now: datetime | None = None) -> int:
    """Remind of each incident still firing unacknowledged once its cooldown has passed."""
    now = now or timezone.now()
    due = Incident.objects.filter(state=IncidentState.OPEN, next_reminder_at__lte=now, pending_event="")
    return sum(remind(incident, now) for incident in due)


def remind(incident: Incident, now: datetime) -> bool:
    with transaction.atomic():
        # Read once: its cooldown, and how many fire (one statement a reminder, not two).
        alerts = list(incident.alerts.select_related("rule"))
        next_at = now + cooldown(incident, alerts)
        changed = Incident.objects.filter(
            id=incident.id, state=IncidentState.OPEN, next_reminder_at=incident.next_reminder_at
        ).update(next_reminder_at=next_at)
        if not changed:
            return False
        incident.next_reminder_at = next_at
        firing = sum(a.state == AlertState.FIRING for a in alerts)
        record(None, "still firing", detail=f"{firing} alert(s) firing, not acknowledged", incident=incident)
        outbox.notify(incident, REMINDER)
        # One held back by a silence until now starts its escalation with its first reminder.
        escalation.start(incident, now)
    return True


@shared_task(acks_late=True)
def notify_incident(incident_id: int) -> None:
    flush(incident_id)
