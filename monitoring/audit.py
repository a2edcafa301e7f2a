"""The audit trail: every change to configuration, recorded by the same code whether it came
from a page or the API, in the transaction that made the change.

Callers snapshot an object before and after the change (`snapshot`), with secrets already
masked: an entry is shown to admins as it was stored.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models
from django.db.models import QuerySet

from .models import AuditEntry

CREATED, UPDATED, DELETED = "created", "updated", "deleted"


def plain(value: object) -> object:
    """A value as JSON keeps it: dates as ISO text, model rows by id, sets and tuples as lists."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def snapshot(obj: object, fields: list[str] | tuple[str, ...]) -> dict:
    """The named fields of obj as JSON values (a many-to-many field as its sorted ids)."""
    out = {}
    for name in fields:
        value = getattr(obj, name)
        if hasattr(value, "values_list"):  # a related manager
            value = sorted(value.values_list("pk", flat=True))
        out[name] = plain(value)
    return out


def changed(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the fields an edit changed, before and after (an edit that changed nothing: two empty dicts)."""
    names = [name for name in after if before.get(name) != after.get(name)]
    return {n: before.get(n) for n in names}, {n: after[n] for n in names}


def record(
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    obj: models.Model,
    *,
    label: str = "",
    before: dict | None = None,
    after: dict | None = None,
    kind: str | None = None,
) -> AuditEntry | None:
    """Write one entry for a change to obj; an update that changed nothing writes none.

    Record a deletion before deleting: the row's id is gone after.
    """
    if action == UPDATED and before is not None and after is not None:
        before, after = changed(before, after)
        if not after:
            return None
    person = actor if actor is not None and actor.is_authenticated else None
    return AuditEntry.objects.create(
        actor=person,
        actor_name=person.get_username() if person else "system",
        action=action,
        kind=kind or obj._meta.model_name,
        object_id=str(obj.pk),
        label=(label or str(obj))[:200],
        before=before,
        after=after,
    )


def history(kind: str, object_id: object) -> QuerySet[AuditEntry]:
    """One object's entries, newest first (shown on its own page)."""
    return AuditEntry.objects.filter(kind=kind, object_id=str(object_id))
