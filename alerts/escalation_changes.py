"""Changing escalation policies and people's notification addresses: what the API and the
pages both call. Each validates (InputError naming the field), writes the change and its
audit entry in one transaction."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from monitoring import audit
from monitoring.errors import InputError
from monitoring.models import Project, Service, default_project_id
from monitoring.projects import people_in, scoped

from . import escalation
from .models import Channel, EscalationPolicy, EscalationStep, NotificationAddress, ServicePolicy

Actor = AbstractBaseUser | AnonymousUser | None
User = get_user_model()
ADDRESS = "notificationaddress"


def snapshot(policy: EscalationPolicy) -> dict:
    """What the audit trail keeps of a policy: its fields, its steps and the services following it."""
    steps = [
        {
            "wait_minutes": step.wait_minutes,
            "channels": sorted(step.channels.values_list("id", flat=True)),
            "people": sorted(step.people.values_list("id", flat=True)),
        }
        for step in policy.steps.order_by("position")
    ]
    services = sorted(ServicePolicy.objects.filter(policy=policy).values_list("service_id", flat=True))
    return {**audit.snapshot(policy, ("name", "description", "repeat")), "steps": steps, "services": services}


def found(among: QuerySet, ids: list[int], field: str) -> list:
    """The rows named by id among those allowed (the policy's project's): others are unknown."""
    rows = {row.pk: row for row in among.filter(pk__in=ids)}
    for i, pk in enumerate(ids):
        if pk not in rows:
            raise InputError(f"{field}[{i}]", f"no {among.model._meta.verbose_name} with id {pk}")
    return [rows[pk] for pk in dict.fromkeys(ids)]


def checked_steps(steps: list[dict], project_id: int) -> list[tuple[int, list[Channel], list]]:
    """Each step's channels are of the policy's project, and its people have a role there."""
    out = []
    for i, step in enumerate(steps):
        channels = found(
            Channel.objects.filter(project_id=project_id), step.get("channels") or [], f"steps[{i}].channels"
        )
        people = found(people_in(project_id), step.get("people") or [], f"steps[{i}].people")
        if not channels and not people:
            raise InputError(f"steps[{i}]", "notify at least one channel or person")
        out.append((step["wait_minutes"], channels, people))
    return out


def check_name(name: str, policy: EscalationPolicy | None) -> None:
    taken = EscalationPolicy.objects.filter(name=name)
    if policy is not None:
        taken = taken.exclude(id=policy.id)
    if taken.exists():
        raise InputError("name", f"a policy named {name!r} exists already")


def write_steps(policy: EscalationPolicy, steps: list[tuple[int, list[Channel], list]]) -> None:
    policy.steps.all().delete()
    for position, (wait, channels, people) in enumerate(steps):
        step = EscalationStep.objects.create(policy=policy, position=position, wait_minutes=wait)
        step.channels.set(channels)
        step.people.set(people)


def write_services(policy: EscalationPolicy, services: list[Service]) -> None:
    ServicePolicy.objects.filter(policy=policy).exclude(service__in=services).delete()
    for service in services:
        ServicePolicy.objects.update_or_create(service=service, defaults={"policy": policy})


def create(actor: Actor, data: dict, project: Project | None = None) -> EscalationPolicy:
    """A new policy from the API's PolicyIn.model_dump(), in project (default: the default one)."""
    project_id = project.id if project is not None else default_project_id()
    check_name(data["name"], None)
    steps = checked_steps(data["steps"], project_id)
    services = found(Service.objects.filter(project_id=project_id), data.get("services") or [], "services")
    with transaction.atomic():
        policy = EscalationPolicy.objects.create(
            name=data["name"],
            description=data.get("description", ""),
            repeat=data.get("repeat", 0),
            project_id=project_id,
        )
        write_steps(policy, steps)
        write_services(policy, services)
        audit.record(actor, audit.CREATED, policy, after=snapshot(policy))
    return policy


def update(policy: EscalationPolicy, actor: Actor, data: dict) -> EscalationPolicy:
    """Change the fields given (a PATCH leaves out the others); steps given replace them all.
    An incident already escalating goes on from where it stands, with the new steps."""
    if data.get("name") is not None:
        check_name(data["name"], policy)
    steps = checked_steps(data["steps"], policy.project_id) if data.get("steps") is not None else None
    services = (
        found(Service.objects.filter(project_id=policy.project_id), data["services"], "services")
        if data.get("services") is not None
        else None
    )
    with transaction.atomic():
        before = snapshot(policy)
        for name in ("name", "description", "repeat"):
            if data.get(name) is not None:
                setattr(policy, name, data[name])
        policy.updated = timezone.now()
        policy.save()
        if steps is not None:
            write_steps(policy, steps)
        if services is not None:
            write_services(policy, services)
        audit.record(actor, audit.UPDATED, policy, before=before, after=snapshot(policy))
    return policy


def delete(policy: EscalationPolicy, actor: Actor) -> None:
    """Delete it: its rules and services then follow none; its incidents escalate no further."""
    with transaction.atomic():
        audit.record(actor, audit.DELETED, policy, before=snapshot(policy))
        policy.delete()


def address_snapshot(address: NotificationAddress) -> dict:
    return {"email": address.email, "channel": address.channel_id}


def set_address(actor: Actor, user: AbstractBaseUser, email: str, channel_id: int | None) -> NotificationAddress:
    """Set where a person is reached: an e-mail address, or a channel (not both, not neither)."""
    email = email.strip()
    if email and channel_id is not None:
        raise InputError("channel", "give an e-mail address or a channel, not both")
    if not email and channel_id is None:
        raise InputError("email", "give an e-mail address or a channel")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise InputError("email", f"{email!r} is not a valid e-mail address") from None
    channels = Channel.objects.filter(id=channel_id)
    if actor is not None:
        channels = scoped(channels, actor)  # a channel of the actor's projects only
    channel = channels.first() if channel_id is not None else None
    if channel_id is not None and channel is None:
        raise InputError("channel", f"no channel with id {channel_id}")
    with transaction.atomic():
        address, created = NotificationAddress.objects.select_related("mail_channel", "user").get_or_create(user=user)
        before = address_snapshot(address)
        address.email, address.channel = email, channel
        address.save()
        if email:
            escalation.mail_channel(address)
        label = f"notification address of {user.get_username()}"
        action = audit.CREATED if created else audit.UPDATED
        audit.record(
            actor, action, address, label=label, before=None if created else before, after=address_snapshot(address)
        )
    return address
