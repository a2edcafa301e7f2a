"""Acknowledge, suppress and resolve an incident: the action on each of its alerts that it
applies to (through lifecycle, so every alert's timeline says so and the incident follows),
and one line on the incident's own timeline. The API and the incident page both call these."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from . import escalation, lifecycle
from .models import OPEN_STATES, AlertState, Incident
from .timeline import acting, record


def acknowledge(
    incident: Incident, actor: AbstractBaseUser | None, reason: str = "", remind_after_minutes: int | None = None
) -> bool:
    """Acknowledge every firing alert of the incident; False when none is firing."""
    with transaction.atomic():
        firing = list(incident.alerts.filter(state=AlertState.FIRING).select_related("rule"))
        if not firing:
            return False
        record(None, "acknowledged", actor=actor, detail=reason or words(len(firing)), incident=incident)
        done = [lifecycle.acknowledge(alert, actor, reason, remind_after_minutes) for alert in firing]
    return any(done)


def suppress(incident: Incident, actor: AbstractBaseUser | None, minutes: int, comment: str = "") -> bool:
    """Silence the notices of every open alert of the incident for a while; False when none is open."""
    with transaction.atomic():
        open_alerts = list(incident.alerts.filter(state__in=OPEN_STATES).select_related("rule"))
        if not open_alerts:
            return False
        detail = f"for {minutes} min" + (f": {comment}" if comment else "")
        record(None, "suppressed", actor=actor, detail=detail, incident=incident)
        done = [lifecycle.suppress(alert, actor, minutes, comment) for alert in open_alerts]
        who = actor.get_username() if actor is not None else acting.get() or "someone"
        escalation.stop(incident, "escalation ended", f"suppressed by {who} for {minutes} min")
    return any(done)


def resolve(incident: Incident, actor: AbstractBaseUser | None, comment: str = "") -> bool:
    """Resolve every open alert of the incident by hand; False when none is open."""
    with transaction.atomic():
        open_alerts = list(incident.alerts.filter(state__in=OPEN_STATES).select_related("rule"))
        if not open_alerts:
            return False
        record(None, "resolved by hand", actor=actor, detail=comment or words(len(open_alerts)), incident=incident)
        done = [lifecycle.resolve(alert, actor=actor, comment=comment) for alert in open_alerts]
    return any(done)


def words(n: int) -> str:
    return f"{n} alert{'s' if n != 1 else ''}"
