"""Escalation: who else to notify, step by step, while an incident goes unacknowledged.

- An incident follows its first alert's rule's policy, else its service's (`policy_for`),
  chosen when it opens; with none, nothing here touches it.
- Step 1 runs with the incident's first notice that goes out (`start`, called by
  `incidents.flush` and `incidents.remind`): its channels and people get that notice too (a
  channel the rules already notify is not sent it twice).
- Each step then waits its minutes; `escalate_due` (the periodic check) runs the next step of
  every incident whose wait is over, sending its targets the "escalated" notice, which names
  the step. After the last step the policy starts again from step 1, `repeat` more times.
- While every firing alert of the incident is silenced or inhibited, a due step is held (it
  is tried again a step's wait later).
- Acknowledging stops it, resolving or suppressing the incident ends it (`stop`).

The incident keeps where it stands (`escalation_step`, `escalation_round`,
`next_escalation_at`, `escalation_ended`); taking a due step is a conditional update on
those, so two workers never both run it. Every step taken is a line on its timeline.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from . import outbox
from .models import (
    AlertState,
    Channel,
    EscalationPolicy,
    EscalationStep,
    Incident,
    IncidentState,
    NotificationAddress,
    Rule,
    ServicePolicy,
)
from .timeline import record

ESCALATED = "escalated"
# Due steps taken per check; the rest wait for the next one.
BATCH = 500


def policy_for(rule: Rule | None, service: str) -> int | None:
    """The policy an incident opened by this rule's alert on this service follows (its id)."""
    if rule is not None and rule.escalation_policy_id is not None:
        return rule.escalation_policy_id
    return ServicePolicy.objects.filter(service__name=service).values_list("policy_id", flat=True).first()


def steps_of(policy_id: int) -> list[EscalationStep]:
    steps = EscalationStep.objects.filter(policy_id=policy_id).order_by("position")
    return list(steps.prefetch_related("channels", "people__notification_address__channel"))


def may_escalate(incident: Incident, now: datetime) -> bool:
    """Some alert of it fires, unacknowledged, neither silenced nor inhibited."""
    firing = incident.alerts.filter(state=AlertState.FIRING, inhibited_by__isnull=True)
    return any(not alert.is_suppressed(now) for alert in firing)


def mail_channel(address: NotificationAddress) -> Channel:
    """The e-mail channel that reaches this person's address (made, or set to it, on demand)."""
    channel = address.mail_channel
    if channel is not None and channel.kind == "email":
        if channel.config.get("to") != [address.email]:
            channel.set_config({"to": [address.email]})
            channel.save()
        return channel
    channel = Channel(name=f"{address.user.get_username()} (e-mail)"[:100], kind="email")
    channel.set_config({"to": [address.email]})
    channel.save()
    NotificationAddress.objects.filter(id=address.id).update(mail_channel=channel)
    address.mail_channel = channel
    return channel


def person_target(user: object) -> tuple[Channel | None, str]:
    """The channel that reaches a person and how the timeline names them."""
    name = user.get_username()
    address = NotificationAddress.objects.filter(user=user).select_related("channel", "mail_channel", "user").first()
    if address is None or not (address.email or address.channel):
        return None, f"{name} (no notification address)"
    if address.channel is not None:
        return address.channel, f"{name} via {address.channel.name}"
    return mail_channel(address), address.email


def targets(step: EscalationStep) -> tuple[list[Channel], list[str]]:
    """The channels a step notifies (its own and its people's), and the names the timeline gives them."""
    channels: dict[int, Channel] = {}
    names = []
    for channel in step.channels.all():
        channels.setdefault(channel.id, channel)
        names.append(channel.name)
    for user in step.people.all():
        channel, name = person_target(user)
        if channel is not None:
            channels.setdefault(channel.id, channel)
        names.append(name)
    return list(channels.values()), names


def words(policy: EscalationPolicy, step: int, round_: int) -> str:
    again = f" (round {round_ + 1} of {policy.repeat + 1})" if policy.repeat else ""
    return f"step {step + 1} of {policy.name}{again}"


def start(incident: Incident, now: datetime | None = None) -> bool:
    """Run step 1 along with the incident's first notice that went out (call in its transaction)."""
    now = now or timezone.now()
    if incident.escalation_policy_id is None or incident.escalation_step is not None or incident.escalation_ended:
        return False
    if incident.state != IncidentState.OPEN or not may_escalate(incident, now):
        return False
    steps = steps_of(incident.escalation_policy_id)
    if not steps:
        return False
    claimed = Incident.objects.filter(
        id=incident.id, escalation_step__isnull=True, escalation_ended="", next_escalation_at__isnull=True
    ).update(escalation_step=0, escalation_round=0, next_escalation_at=now + timedelta(minutes=steps[0].wait_minutes))
    if not claimed:
        return False
    incident.escalation_step, incident.escalation_round = 0, 0
    incident.next_escalation_at = now + timedelta(minutes=steps[0].wait_minutes)
    run(incident, steps, 0, 0, outbox.FIRING)
    return True


def run(incident: Incident, steps: list[EscalationStep], step: int, round_: int, event: str) -> None:
    """Send one step's notice to its targets and say so on the incident's timeline."""
    policy = EscalationPolicy.objects.get(id=incident.escalation_policy_id)
    channels, names = targets(steps[step])
    if event == outbox.FIRING:
        # The rules' channels had the firing notice already (or had it held by their cooldown).
        told = {c.id for c in outbox.channels_of(list(incident.alerts.all()))}
        channels = [c for c in channels if c.id not in told]
    where = words(policy, step, round_)
    outbox.notify_channels(incident, channels, event, where)
    notified = ", ".join(names) or "nobody (the step names no channel or person)"
    record(None, "escalated", detail=f"to {where}: notified {notified}", incident=incident)


def escalate_due(now: datetime | None = None) -> int:
    """Take the next step of every incident whose step's wait is over; how many were taken."""
    now = now or timezone.now()
    due = Incident.objects.filter(next_escalation_at__lte=now).order_by("next_escalation_at")
    ids = list(due.values_list("id", flat=True)[:BATCH])
    return sum(advance(incident_id, now) for incident_id in ids)


def advance(incident_id: int, now: datetime) -> bool:
    """Run the incident's next step if it is due; False when another worker took it, or it was held."""
    with transaction.atomic():
        incident = Incident.objects.filter(id=incident_id, next_escalation_at__lte=now).first()
        if incident is None or incident.escalation_step is None:
            return False
        steps = steps_of(incident.escalation_policy_id) if incident.escalation_policy_id else []
        if not steps:
            return finish(incident, "its escalation policy was deleted or has no steps")
        if incident.state != IncidentState.OPEN:
            return finish(incident, f"the incident is {incident.state}")
        if not may_escalate(incident, now):
            return hold(incident, steps, now)
        policy = EscalationPolicy.objects.get(id=incident.escalation_policy_id)
        step, round_ = incident.escalation_step + 1, incident.escalation_round
        if step >= len(steps):
            if round_ >= policy.repeat:
                return finish(incident, f"every step of {policy.name} ran, {rounds(policy.repeat + 1)}")
            step, round_ = 0, round_ + 1
        next_at = now + timedelta(minutes=steps[step].wait_minutes)
        claimed = claim(incident, escalation_step=step, escalation_round=round_, next_escalation_at=next_at)
        if not claimed:
            return False
        run(incident, steps, step, round_, ESCALATED)
    return True


def claim(incident: Incident, **changes: object) -> bool:
    """Change where the escalation stands, unless another worker already has (a conditional update)."""
    return bool(
        Incident.objects.filter(
            id=incident.id,
            next_escalation_at=incident.next_escalation_at,
            escalation_step=incident.escalation_step,
            escalation_round=incident.escalation_round,
        ).update(**changes)
    )


def rounds(n: int) -> str:
    return f"{n} round{'s' if n != 1 else ''}"


def hold(incident: Incident, steps: list[EscalationStep], now: datetime) -> bool:
    current = steps[min(incident.escalation_step, len(steps) - 1)]
    again = now + timedelta(minutes=current.wait_minutes)
    if claim(incident, next_escalation_at=again):
        detail = f"every firing alert is silenced or inhibited; tried again at {again:%H:%M} UTC"
        record(None, "escalation held", detail=detail, incident=incident)
    return False


def finish(incident: Incident, why: str) -> bool:
    if claim(incident, next_escalation_at=None, escalation_ended=why[:300]):
        record(None, "escalation finished", detail=why, incident=incident)
    return False


def stop(incident: Incident, action: str, why: str) -> bool:
    """Acknowledged, resolved or suppressed: no further step runs (call in that change's transaction)."""
    changed = Incident.objects.filter(id=incident.id, escalation_policy__isnull=False, escalation_ended="").update(
        next_escalation_at=None, escalation_ended=why[:300]
    )
    if changed:
        incident.next_escalation_at, incident.escalation_ended = None, why[:300]
        record(None, action, detail=why, incident=incident)
    return bool(changed)
