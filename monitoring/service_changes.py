"""Every change to services and their ingest tokens, called alike by the API, the pages and
the management commands: each validates, writes, and records its audit entry in one
transaction. A raw token leaves only as the return value of create and rotate; the audit
trail names tokens by prefix."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from . import audit, dependencies
from .errors import InputError
from .models import IngestToken, Project, Service, WorkingTokens
from .projects import scoped

Actor = AbstractBaseUser | AnonymousUser | None

SERVICE_FIELDS = ("name",)
TOKEN_FIELDS = ("prefix", "service", "created", "expires", "revoked")


def unique_name(name: str, service: Service | None = None) -> None:
    taken = Service.objects.filter(name=name).exclude(id=service.id if service else None)
    if taken.exists():
        raise InputError("name", f"a service named {name!r} exists already")


def create_service(
    actor: Actor, name: str, depends_on: Sequence[int | str] = (), project: Project | None = None
) -> Service:
    """A new service in project (default: the default project)."""
    unique_name(name)
    try:
        with transaction.atomic():
            service = Service.objects.create(name=name, project=project or Project.objects.default())
            # A new service has no dependents yet: what it depends on cannot make a cycle.
            service.depends_on.set(services_named(service, depends_on, actor))
            after = {**audit.snapshot(service, SERVICE_FIELDS), **depends_on_names(service)}
            audit.record(actor, audit.CREATED, service, after=after)
    except IntegrityError:  # created by someone else since the check
        raise InputError("name", f"a service named {name!r} exists already") from None
    return service


def depends_on_names(service: Service) -> dict:
    """What the audit trail keeps of a service's dependencies: their names, sorted."""
    return {"depends_on": sorted(service.depends_on.values_list("name", flat=True))}


def services_named(service: Service, refs: Sequence[int | str], actor: Actor) -> list[Service]:
    """The services given by id or name (of those the actor may see; any for the system); an
    unknown one or the service itself is refused."""
    ids = [ref for ref in refs if isinstance(ref, int)]
    names = [ref for ref in refs if isinstance(ref, str)]
    candidates = Service.objects.all() if actor is None else scoped(Service.objects.all(), actor)
    found = list(candidates.filter(Q(id__in=ids) | Q(name__in=names)))
    by_id, by_name = {s.id: s for s in found}, {s.name: s for s in found}
    wanted: dict[int, Service] = {}
    for ref in refs:
        other = by_id.get(ref) if isinstance(ref, int) else by_name.get(ref)
        if other is None:
            raise InputError("depends_on", f"no service {'with id' if isinstance(ref, int) else 'named'} {ref!r}")
        if other.id == service.id:
            raise InputError("depends_on", "a service cannot depend on itself")
        wanted[other.id] = other
    return list(wanted.values())


def set_dependencies(actor: Actor, service: Service, refs: Sequence[int | str]) -> Service:
    """The services this one depends on, by id or name, replacing the list. Refuses an unknown
    service, itself, and one that depends on this one already (a cycle), naming depends_on."""
    with transaction.atomic():
        # Every service row locked: two changes at once cannot close a cycle between them.
        # (SQLite's write transactions are IMMEDIATE: they take the whole database at once.)
        list(Service.objects.select_for_update().order_by("id").values_list("id", flat=True))
        wanted = services_named(service, refs, actor)
        graph = dependencies.edges()
        graph.pop(service.id, None)  # its own are being replaced
        for other in wanted:
            loop = dependencies.path(other.id, service.id, graph)
            if loop is not None:
                names = dict(Service.objects.filter(id__in=loop).values_list("id", "name"))
                chain = " → ".join(names[i] for i in loop)
                raise InputError("depends_on", f"“{other.name}” depends on “{service.name}” already ({chain})")
        before = depends_on_names(service)
        service.depends_on.set(wanted)
        audit.record(actor, audit.UPDATED, service, before=before, after=depends_on_names(service))
    return service


def rename_service(actor: Actor, service: Service, name: str) -> Service:
    """Renames keep the service's functions, tokens and history; rules match the new name."""
    unique_name(name, service)
    before = audit.snapshot(service, SERVICE_FIELDS)
    service.name = name
    try:
        with transaction.atomic():
            service.save(update_fields=["name"])
            audit.record(actor, "renamed", service, before=before, after=audit.snapshot(service, SERVICE_FIELDS))
    except IntegrityError:
        raise InputError("name", f"a service named {name!r} exists already") from None
    return service


def delete_service(actor: Actor, service: Service) -> None:
    """Deletes the service with everything it reported and its tokens (which stop at once)."""
    with transaction.atomic():
        audit.record(actor, audit.DELETED, service, before=audit.snapshot(service, SERVICE_FIELDS))
        service.delete()
        WorkingTokens.changed()


def create_token(actor: Actor, service: Service) -> tuple[IngestToken, str]:
    with transaction.atomic():
        token, raw = IngestToken.issue(service=service)
        audit.record(actor, audit.CREATED, token, after=audit.snapshot(token, TOKEN_FIELDS))
    return token, raw


def rotate_token(actor: Actor, token: IngestToken, grace_minutes: int) -> tuple[IngestToken, str]:
    """A new token for the service; the old one keeps working for grace_minutes, then stops."""
    if token.state != "active":
        raise InputError("token", f"is {token.state}: only an active token can be rotated")
    with transaction.atomic():
        new, raw = IngestToken.issue(service=token.service)
        before = audit.snapshot(token, TOKEN_FIELDS)
        expires = timezone.now() + timedelta(minutes=grace_minutes)
        # Conditional: of two rotations at once, one sets the expiry; the other creates nothing.
        if not IngestToken.objects.filter(id=token.id, revoked__isnull=True, expires__isnull=True).update(
            expires=expires
        ):
            raise InputError("token", "was rotated or revoked meanwhile")
        WorkingTokens.changed()
        token.expires = expires
        before, after = audit.changed(before, {**audit.snapshot(token, TOKEN_FIELDS), "replaced_by": new.prefix})
        audit.record(actor, "rotated", token, before=before, after=after)
        audit.record(actor, audit.CREATED, new, after={**audit.snapshot(new, TOKEN_FIELDS), "replaces": token.prefix})
    return new, raw


def revoke_token(actor: Actor, token: IngestToken) -> IngestToken:
    """Stops the token at once (one in its grace period too); revoking it again changes nothing."""
    with transaction.atomic():
        before = audit.snapshot(token, TOKEN_FIELDS)
        now = timezone.now()
        if IngestToken.objects.filter(id=token.id, revoked__isnull=True).update(revoked=now):
            WorkingTokens.changed()
            token.revoked = now
            before, after = audit.changed(before, audit.snapshot(token, TOKEN_FIELDS))
            audit.record(actor, "revoked", token, before=before, after=after)
    token.refresh_from_db()
    return token
