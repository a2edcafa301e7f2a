"""Changing channels: create, update, enable or disable, delete, reveal a secret.

Called by both the API (alerts/api/channels.py) and the pages (alerts/channel_pages.py).
Each validates (InputError naming the field), writes the change and its audit entry in
one transaction. Snapshots show every secret as MASK: "******** (replaced)" when an
edit put a new one in.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from monitoring import audit
from monitoring.errors import InputError
from monitoring.inputs import check_json
from monitoring.models import Project, default_project_id

from . import secrets
from .models import Channel
from .transports import TRANSPORTS, ConfigError
from .transports.base import MASK

Actor = AbstractBaseUser | AnonymousUser | None
ENABLED, DISABLED, REVEALED = "enabled", "disabled", "revealed"
REPLACED = f"{MASK} (replaced)"


def snapshot(channel: Channel, replaced: set[str] | frozenset[str] = frozenset()) -> dict:
    config = channel.masked_config()
    config.update({key: REPLACED for key in replaced if key in config})
    return {
        "name": channel.name,
        "kind": channel.kind,
        "target": channel.target,
        "config": config,
        "rate_per_minute": channel.rate_per_minute,
        "enabled": channel.enabled,
    }


def stored_secrets(channel: Channel) -> dict:
    try:
        return channel.revealed()
    except secrets.SecretUnreadable:
        message = "the stored secrets cannot be decrypted with MONITOR_SECRET_KEYS; enter them again"
        raise InputError("config", message) from None


def clean(kind: str, config: dict, old: Channel | None = None) -> tuple[dict, set[str]]:
    """(the cleaned config with its secrets in plain text, the secret keys it set anew).

    A secret sent back as MASK keeps the stored one.
    """
    if kind not in TRANSPORTS:
        raise InputError("kind", f"must be one of {', '.join(TRANSPORTS)}")
    check_json(config, "config")
    keys = TRANSPORTS[kind].secret_keys
    masked = [k for k, v in config.items() if k in keys and v == MASK]
    stored = stored_secrets(old) if old is not None and masked else {}
    given = {k: (stored.get(k) if k in masked else v) for k, v in config.items()}
    try:
        cleaned = TRANSPORTS[kind].clean_config(given)
    except ConfigError as error:
        raise InputError(error.field, error.message) from None
    new = {k for k in keys if cleaned.get(k) and k not in masked}
    return cleaned, new


def apply_enabled(channel: Channel, enabled: bool) -> None:
    if enabled:
        channel.disabled_at, channel.disabled_reason = None, ""
    elif channel.disabled_at is None:
        channel.disabled_at, channel.disabled_reason = timezone.now(), "disabled by an admin"


def create(actor: Actor, data: dict, project: Project | None = None) -> Channel:
    """data: ChannelIn's fields (name, kind, config, rate_per_minute, enabled); project: where
    it goes (default: the default project)."""
    config, _ = clean(data["kind"], data.get("config") or {})
    channel = Channel(name=data["name"], kind=data["kind"], rate_per_minute=data.get("rate_per_minute"))
    channel.project_id = project.id if project is not None else default_project_id()
    channel.set_config(config)
    apply_enabled(channel, data.get("enabled", True))
    with transaction.atomic():
        channel.save()
        audit.record(actor, audit.CREATED, channel, after=snapshot(channel))
    return channel


def update(actor: Actor, channel: Channel, data: dict) -> Channel:
    """data: the fields to change (ChannelPatch's, as sent); the kind never changes."""
    before = snapshot(channel)
    replaced: set[str] = set()
    if "config" in data:
        config, replaced = clean(channel.kind, data["config"] or {}, channel)
        channel.set_config(config)
    if "name" in data:
        channel.name = data["name"]
    if "rate_per_minute" in data:
        channel.rate_per_minute = data["rate_per_minute"]
    if data.get("enabled") is not None:
        apply_enabled(channel, data["enabled"])
    after = snapshot(channel, replaced)
    changed_before, _ = audit.changed(before, after)
    action = audit.UPDATED
    if list(changed_before) == ["enabled"]:
        action = ENABLED if channel.enabled else DISABLED
    with transaction.atomic():
        channel.save()
        audit.record(actor, action, channel, before=before, after=after)
    return channel


def set_enabled(actor: Actor, channel: Channel, enabled: bool) -> Channel:
    return update(actor, channel, {"enabled": enabled})


def delete(actor: Actor, channel: Channel) -> None:
    with transaction.atomic():
        audit.record(actor, audit.DELETED, channel, before=snapshot(channel))
        channel.delete()


def reveal(actor: Actor, channel: Channel, key: str) -> str:
    """The plain text of one secret; who asked is recorded ("revealed", naming the key only)."""
    if key not in channel.secret_keys:
        names = ", ".join(channel.secret_keys) or "none"
        raise InputError("key", f"must name a secret of a {channel.kind} channel ({names})")
    if key not in channel.sealed:
        raise InputError("key", f"{key} is not set on this channel")
    try:
        value = secrets.decrypt(channel.sealed[key])
    except secrets.SecretUnreadable as error:
        raise InputError("key", str(error)) from None
    with transaction.atomic():
        audit.record(actor, REVEALED, channel, after={"secret": key})
    return value
