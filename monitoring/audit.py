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
from ninja import Schema
from pydantic import Field as PydanticField

from .inputs import Text
from .models import AuditEntry
from .paging import Rows

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


KINDS = {
    "rule": "Rules",
    "channel": "Channels",
    "silence": "Silences",
    "service": "Services",
    "ingesttoken": "Ingest tokens",
    "user": "People",
    "usertoken": "API tokens",
    "statuspage": "Status pages",
    "slo": "SLOs",
    "project": "Projects",
    "team": "Teams",
    "escalationpolicy": "Escalation policies",
    "notificationaddress": "Notification addresses",
}

# How one object of each kind reads in a sentence ("admin created ingest token rmi_…").
KIND_NAMES = {
    "rule": "rule",
    "channel": "channel",
    "silence": "silence",
    "service": "service",
    "ingesttoken": "ingest token",
    "user": "person",
    "usertoken": "API token",
    "statuspage": "status page",
    "slo": "SLO",
    "project": "project",
    "team": "team",
    "escalationpolicy": "escalation policy",
    "notificationaddress": "notification address",
}


class AuditFilters(Schema):
    """The audit list's filters (API query and page form alike)."""

    kind: Text | None = PydanticField(None, description=f"one of {', '.join(KINDS)}", max_length=30)
    actor: Text | None = PydanticField(None, description="who made the change (username)", max_length=150)
    object_id: Text | None = PydanticField(None, description="one object's entries (with kind)", max_length=64)
    action: Text | None = PydanticField(None, description="created, updated, deleted, revealed, ...", max_length=40)


def find_entries(filters: AuditFilters) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.all()
    if filters.kind:
        entries = entries.filter(kind=filters.kind)
    if filters.actor:
        entries = entries.filter(actor_name=filters.actor)
    if filters.object_id:
        entries = entries.filter(object_id=filters.object_id)
    if filters.action:
        entries = entries.filter(action=filters.action)
    return entries


def entry_out(entry: AuditEntry) -> dict:
    return {
        "id": entry.id,
        "at": entry.at,
        "actor": entry.actor_name,
        "action": entry.action,
        "kind": entry.kind,
        "object_id": entry.object_id,
        "label": entry.label,
        "before": entry.before,
        "after": entry.after,
    }


def entry_rows(filters: AuditFilters) -> Rows:
    return Rows(find_entries(filters), lambda page: [entry_out(e) for e in page])


def differences(entry: AuditEntry) -> list[tuple[str, object, object]]:
    """(field, before, after) for each field the entry names, in the order the change gave them."""
    before, after = entry.before or {}, entry.after or {}
    names = list(dict.fromkeys([*after, *before]))
    return [(name, before.get(name), after.get(name)) for name in names]
