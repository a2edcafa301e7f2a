"""Every change to services and their ingest tokens, called alike by the API, the pages and
the management commands: each validates, writes, and records its audit entry in one
transaction. A raw token leaves only as the return value of create and rotate; the audit
trail names tokens by prefix."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from . import audit
from .errors import InputError
from .models import IngestToken, Service, WorkingTokens

Actor = AbstractBaseUser | AnonymousUser | None

SERVICE_FIELDS = ("name",)
TOKEN_FIELDS = ("prefix", "service", "created", "expires", "revoked")


def unique_name(name: str, service: Service | None = None) -> None:
    taken = Service.objects.filter(name=name).exclude(id=service.id if service else None)
    if taken.exists():
        raise InputError("name", f"a service named {name!r} exists already")


def create_service(actor: Actor, name: str) -> Service:
    unique_name(name)
    try:
        with transaction.atomic():
            service = Service.objects.create(name=name)
            audit.record(actor, audit.CREATED, service, after=audit.snapshot(service, SERVICE_FIELDS))
    except IntegrityError:  # created by someone else since the check
        raise InputError("name", f"a service named {name!r} exists already") from None
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
