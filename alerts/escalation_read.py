"""Escalation's read layer: what the pages and the API show of policies, people's
notification addresses and where an incident's escalation stands."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from monitoring.paging import Rows
from monitoring.projects import people_seen_by, scoped

from .models import EscalationPolicy, Incident, NotificationAddress, Rule, ServicePolicy

User = get_user_model()


def policies() -> QuerySet[EscalationPolicy]:
    found = EscalationPolicy.objects.select_related("project").prefetch_related("steps__channels", "steps__people")
    return found.order_by("name", "id")


def policy_out(policy: EscalationPolicy) -> dict:
    services = ServicePolicy.objects.filter(policy=policy).select_related("service").order_by("service__name")
    rules = Rule.objects.configured().filter(escalation_policy=policy).order_by("name", "id")
    return {
        "id": policy.id,
        "name": policy.name,
        "description": policy.description,
        "repeat": policy.repeat,
        "steps": [
            {
                "position": step.position + 1,
                "wait_minutes": step.wait_minutes,
                "channels": [{"id": c.id, "name": c.name} for c in step.channels.all()],
                "people": [{"id": p.id, "name": p.get_username()} for p in step.people.all()],
            }
            for step in sorted(policy.steps.all(), key=lambda s: s.position)
        ],
        "services": [{"id": sp.service_id, "name": sp.service.name} for sp in services],
        "rules": [{"id": r.id, "name": r.name} for r in rules],
        "created": policy.created,
        "updated": policy.updated,
        "project": policy.project.slug,
    }


def policy_rows(user: object) -> Rows:
    """The policies of the person's projects."""
    return Rows(scoped(policies(), user), lambda page: [policy_out(p) for p in page])


def address_out(user: object) -> dict:
    address = NotificationAddress.objects.filter(user=user).select_related("channel").first()
    channel = address.channel if address else None
    return {
        "user_id": user.pk,
        "username": user.get_username(),
        "email": address.email if address else "",
        "channel": {"id": channel.id, "name": channel.name} if channel else None,
    }


def people_with_addresses(people: QuerySet) -> QuerySet:
    """These people, by username, with their address (None when they have none)."""
    return people.select_related("notification_address__channel").order_by("username")


def reach_person(user: object, user_id: int) -> object:
    """The person whose notification address `user` asks for: themselves; else someone of a
    project where `user` is an admin (403 when they share only projects where `user` is less;
    404 when they share none, so names do not leak)."""
    if getattr(user, "pk", None) == user_id:
        return User.objects.get(pk=user_id)
    if not people_seen_by(user).filter(pk=user_id).exists():
        raise Http404("no such person")
    if not people_seen_by(user, "admin").filter(pk=user_id).exists():
        raise PermissionDenied("this needs the admin role in a project of that person, or to be that person")
    return User.objects.get(pk=user_id)


def standing(incident: Incident) -> dict | None:
    """Where the incident's escalation stands, or None when it follows no policy."""
    if incident.escalation_policy_id is None:
        return None
    policy = incident.escalation_policy
    steps = policy.steps.count()
    if incident.escalation_ended:
        state = "stopped" if incident.escalation_ended.startswith("acknowledged") else "ended"
    elif incident.escalation_step is None:
        state = "waiting"
    else:
        state = "running"
    return {
        "policy": {"id": policy.id, "name": policy.name},
        "state": state,  # waiting (for the first notice) | running | stopped (acknowledged) | ended
        "step": None if incident.escalation_step is None else incident.escalation_step + 1,
        "steps": steps,
        "round": incident.escalation_round + 1,
        "rounds": policy.repeat + 1,
        "next_at": incident.next_escalation_at,
        "why": incident.escalation_ended,
    }
