"""Changing rules: create, update, enable, disable, delete. The API and the pages both call
these, so a change validates, resolves what it must and is audited the same way from either.

Disabling or deleting a rule resolves its open alerts: nothing would ever evaluate them
again, so they would stay firing for good. Each gets a timeline line saying why, and the
channels that heard it fire hear it resolve.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from monitoring import audit
from monitoring.errors import InputError
from monitoring.models import Project, default_project_id

from . import health_flags, lifecycle
from .models import OPEN_STATES, Alert, Breach, Channel, EscalationPolicy, Rule
from .timeline import record

Actor = AbstractBaseUser | AnonymousUser | None

# What the audit trail keeps of a rule (it has no secret).
FIELDS = (
    "name",
    "enabled",
    "metric",
    "op",
    "threshold",
    "resolve_threshold",
    "window_minutes",
    "min_calls",
    "for_seconds",
    "severity",
    "service",
    "subject",
    "channels",
    "cooldown_minutes",
    "group_by",
    "escalation_policy",
)
ENABLED, DISABLED = "enabled", "disabled"


def person(actor: Actor) -> AbstractBaseUser | None:
    return actor if actor is not None and actor.is_authenticated else None


def check_channels(ids: list[int], project_id: int) -> list[Channel]:
    """The channels named by id, all of the rule's project: another project's answers as unknown."""
    found = {c.id: c for c in Channel.objects.filter(id__in=ids, project_id=project_id)}
    for i, channel_id in enumerate(ids):
        if channel_id not in found:
            raise InputError(f"channels[{i}]", f"no channel with id {channel_id}")
    return list(found.values())


def check_policy(data: dict, project_id: int) -> None:
    """The escalation policy named by id, as the model takes it; 422 naming the field if unknown
    (or of another project)."""
    if "escalation_policy" not in data:
        return
    policy_id = data.pop("escalation_policy")
    if policy_id is not None and not EscalationPolicy.objects.filter(id=policy_id, project_id=project_id).exists():
        raise InputError("escalation_policy", f"no escalation policy with id {policy_id}")
    data["escalation_policy_id"] = policy_id


def create(actor: Actor, data: dict, project: Project | None = None) -> Rule:
    """A new rule from the API's rule input (RuleIn.model_dump()), in project (default: the
    default project); its channels and policy must be of that project."""
    data = dict(data)
    data.pop("project", None)
    project_id = project.id if project is not None else default_project_id()
    check_policy(data, project_id)
    channels = check_channels(data.pop("channels", None) or [], project_id)
    rule = Rule(**data, project_id=project_id)
    with transaction.atomic():
        rule.save()
        rule.channels.set(channels)
        record(None, "rule created", actor=person(actor), rule=rule)
        audit.record(actor, audit.CREATED, rule, after=audit.snapshot(rule, FIELDS))
    return rule


def update(rule: Rule, actor: Actor, data: dict) -> Rule:
    """Change the fields given (a PATCH leaves out the others). Turning `enabled` off is a disable."""
    data = dict(data)
    data.pop("project", None)  # a rule stays in its project
    check_policy(data, rule.project_id)
    channels = check_channels(data.pop("channels"), rule.project_id) if data.get("channels") is not None else None
    data.pop("channels", None)
    with transaction.atomic():
        before = audit.snapshot(rule, FIELDS)
        for name, value in data.items():
            setattr(rule, name, value)
        rule.updated = timezone.now()
        rule.save()
        if channels is not None:
            rule.channels.set(channels)
        after = audit.snapshot(rule, FIELDS)
        changed = [name for name in FIELDS if before[name] != after[name]]
        record(
            None, "rule changed", actor=person(actor), detail="changed " + (", ".join(changed) or "nothing"), rule=rule
        )
        action = audit.UPDATED
        if changed == ["enabled"]:
            action = ENABLED if rule.enabled else DISABLED
        audit.record(actor, action, rule, before=before, after=after)
        if before["enabled"] and not rule.enabled:
            stop(rule, actor, f"the rule “{rule.name}” was disabled")
    return rule


def set_enabled(rule: Rule, actor: Actor, enabled: bool) -> Rule:
    return update(rule, actor, {"enabled": enabled})


def delete(rule: Rule, actor: Actor) -> None:
    """Resolve the rule's open alerts, then delete it; its alerts stay, with their history."""
    with transaction.atomic():
        stop(rule, actor, f"the rule “{rule.name}” was deleted")
        record(None, "rule deleted", actor=person(actor), detail=f"rule {rule.id} {rule.name!r}", rule=rule)
        audit.record(actor, audit.DELETED, rule, before=audit.snapshot(rule, FIELDS))
        rule.delete()


def stop(rule: Rule, actor: Actor, why: str) -> int:
    """Resolve the rule's open alerts and forget its waits (nothing will evaluate them again)."""
    waiting = Breach.objects.filter(rule=rule)
    subjects = list(waiting.values_list("fingerprint", flat=True))
    waiting.delete()
    health_flags.refresh(found for found in map(health_flags.function_id, subjects) if found is not None)
    resolved = 0
    by = person(actor)
    comment = why + (f" by {by.get_username()}" if by else "")
    for alert in Alert.objects.filter(rule=rule, state__in=OPEN_STATES).select_related("rule"):
        resolved += lifecycle.resolve(alert, actor=by, comment=comment)
    return resolved
