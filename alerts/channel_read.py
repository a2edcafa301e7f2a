"""What the channel pages and the channels API show: plain dicts, secrets as MASK only."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone

from monitoring.models import Project
from monitoring.paging import Rows
from monitoring.projects import ProjectPart, User, scoped

from .models import Channel, Delivery, NotificationAddress
from .read import delivery_out


def latest(field: str) -> Subquery:
    newest = Delivery.objects.filter(channel=OuterRef("pk")).order_by("-created", "-id")
    return Subquery(newest.values(field)[:1])


def with_last_delivery(channels: object) -> object:
    return channels.annotate(last_state=latest("state"), last_at=latest("created"))


def channel_out(channel: Channel) -> dict:
    return {
        "id": channel.id,
        "name": channel.name,
        "kind": channel.kind,
        "target": channel.target,
        "config": channel.masked_config(),
        "secrets": sorted(channel.sealed),
        "rate_per_minute": channel.rate_per_minute,
        "enabled": channel.enabled,
        "disabled_at": channel.disabled_at,
        "disabled_reason": channel.disabled_reason,
        "created": channel.created,
        "last_delivery_state": getattr(channel, "last_state", None),
        "last_delivery_at": getattr(channel, "last_at", None),
        "project": channel.project.slug,
    }


def find_channels(user: User) -> Rows:
    """The channels of the person's projects."""
    found = scoped(Channel.objects.select_related("project"), user)
    return Rows(with_last_delivery(found), lambda page: [channel_out(c) for c in page])


def get_channel(channel_id: int, user: User) -> Channel | None:
    """One channel of the person's projects; None for another project's (404 to the caller)."""
    return with_last_delivery(scoped(Channel.objects.filter(id=channel_id).select_related("project"), user)).first()


def channel_detail(channel: Channel) -> dict:
    """The channel with its limits: the rate per minute, and the cooldown of each rule using it."""
    rules = channel.rules.order_by("name", "id")
    minute_ago = timezone.now() - timedelta(minutes=1)
    return {
        **channel_out(channel),
        "rate_limit_per_minute": channel.rate_per_minute or settings.MONITOR_CHANNEL_RATE_PER_MINUTE,
        "sent_last_minute": channel.deliveries.filter(sent_at__gt=minute_ago).count(),
        "rules": [
            {"id": r.id, "name": r.name, "enabled": r.enabled, "cooldown_minutes": r.cooldown_minutes} for r in rules
        ],
    }


def channel_deliveries(channel: Channel, state: str | None = None) -> Rows:
    deliveries = channel.deliveries.select_related("channel").order_by("-created", "-id")
    if state:
        deliveries = deliveries.filter(state=state)
    return Rows(deliveries, lambda page: [delivery_out(d) for d in page])


def project_channels(project: Project) -> ProjectPart:
    """A project's channels, for its settings page (not those that only mail one person)."""
    mailing = NotificationAddress.objects.filter(mail_channel__isnull=False).values("mail_channel")
    found = Channel.objects.filter(project=project).exclude(id__in=mailing).order_by("name")
    return ProjectPart("Channels", [(c.name, reverse("channel", args=[c.id])) for c in found], reverse("channels"))
