"""Channels: read (viewer, secrets masked), configure and test (admin)."""

# No `from __future__ import annotations`: ninja resolves the annotations of a decorated
# view (@paginate, @shared) in the decorator's module, where these names are unknown.

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Router, Status
from ninja.pagination import paginate

from alerts import outbox
from alerts.models import Channel
from alerts.read import delivery_out
from alerts.transports import TRANSPORTS
from monitoring.auth import require_role, user_auth
from monitoring.errors import InputError
from monitoring.inputs import check_json
from monitoring.paging import Rows, ShortPagination
from monitoring.schemas import errors

from .schemas import ChannelIn, ChannelOut, ChannelPatch, DeliveryOut

router = Router(tags=["channels"])
MASK = "********"
SECRET_KEYS = ("secret", "previous_secret", "password")


def masked(config: dict) -> dict:
    return {k: (MASK if k in SECRET_KEYS and v else v) for k, v in config.items()}


def channel_out(channel: Channel) -> dict:
    return {
        "id": channel.id,
        "name": channel.name,
        "kind": channel.kind,
        "config": masked(channel.config),
        "rate_per_minute": channel.rate_per_minute,
        "enabled": channel.enabled,
        "disabled_at": channel.disabled_at,
        "disabled_reason": channel.disabled_reason,
        "created": channel.created,
    }


def clean(kind: str, config: dict, old: dict | None = None) -> dict:
    if kind not in TRANSPORTS:
        raise InputError("kind", f"must be one of {', '.join(TRANSPORTS)}")
    check_json(config, "config")
    # A masked secret sent back unchanged keeps the stored one.
    config = {k: (old.get(k) if old and v == MASK else v) for k, v in config.items()}
    return TRANSPORTS[kind].clean_config(config)


def set_enabled(channel: Channel, enabled: bool | None) -> None:
    if enabled is True:
        channel.disabled_at, channel.disabled_reason = None, ""
    elif enabled is False and channel.disabled_at is None:
        channel.disabled_at, channel.disabled_reason = timezone.now(), "disabled by an admin"


@router.get("/channels", auth=user_auth, response={200: list[ChannelOut], **errors(401, 422, 503)})
@paginate(ShortPagination)
def list_channels(request: HttpRequest) -> Rows:
    return Rows(Channel.objects.all(), lambda page: [channel_out(c) for c in page])


@router.post("/channels", auth=user_auth, response={201: ChannelOut, **errors(400, 401, 403, 413, 422, 503)})
def create_channel(request: HttpRequest, payload: ChannelIn) -> Status:
    require_role(request, "admin")
    channel = Channel(
        name=payload.name,
        kind=payload.kind,
        config=clean(payload.kind, payload.config),
        rate_per_minute=payload.rate_per_minute,
    )
    set_enabled(channel, payload.enabled)
    channel.save()
    return Status(201, channel_out(channel))


@router.get("/channels/{channel_id}", auth=user_auth, response={200: ChannelOut, **errors(401, 404, 422, 503)})
def get_channel(request: HttpRequest, channel_id: int) -> dict:
    return channel_out(get_object_or_404(Channel, id=channel_id))


@router.patch(
    "/channels/{channel_id}", auth=user_auth, response={200: ChannelOut, **errors(400, 401, 403, 404, 413, 422, 503)}
)
def update_channel(request: HttpRequest, channel_id: int, payload: ChannelPatch) -> dict:
    require_role(request, "admin")
    channel = get_object_or_404(Channel, id=channel_id)
    data = payload.model_dump(exclude_unset=True)
    if "config" in data:
        channel.config = clean(channel.kind, data["config"] or {}, channel.config)
    if "name" in data:
        channel.name = data["name"]
    if "rate_per_minute" in data:
        channel.rate_per_minute = data["rate_per_minute"]
    set_enabled(channel, data.get("enabled"))
    channel.save()
    return channel_out(channel)


@router.delete("/channels/{channel_id}", auth=user_auth, response={204: None, **errors(401, 403, 404, 422, 503)})
def delete_channel(request: HttpRequest, channel_id: int) -> Status:
    require_role(request, "admin")
    get_object_or_404(Channel, id=channel_id).delete()
    return Status(204, None)


@router.post(
    "/channels/{channel_id}/test", auth=user_auth, response={202: DeliveryOut, **errors(401, 403, 404, 422, 503)}
)
def test_channel(request: HttpRequest, channel_id: int) -> Status:
    require_role(request, "admin")
    channel = get_object_or_404(Channel, id=channel_id)
    delivery = outbox.send_test(channel)
    delivery.refresh_from_db()
    return Status(202, delivery_out(delivery))
