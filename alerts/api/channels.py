"""Channels: read (viewer, secrets masked), configure, test and reveal a secret (admin)."""

# No `from __future__ import annotations`: ninja resolves the annotations of a decorated
# view (@paginate, @shared) in the decorator's module, where these names are unknown.

from typing import Literal

from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import Field

from alerts import channel_changes, outbox
from alerts.channel_read import channel_deliveries, channel_detail, channel_out, find_channels
from alerts.channel_read import get_channel as read_channel
from alerts.models import Channel
from alerts.read import delivery_out
from monitoring.auth import project_for_new, require_role, user_auth
from monitoring.inputs import Body, Name, example
from monitoring.paging import Rows, ShortPagination
from monitoring.schemas import errors

from .schemas import ChannelIn, ChannelOut, ChannelPatch, DeliveryOut

router = Router(tags=["channels"])


class ChannelRuleOut(Schema):
    id: int
    name: str
    enabled: bool
    cooldown_minutes: int


class ChannelDetail(ChannelOut):
    # The limit in force: rate_per_minute, or MONITOR_CHANNEL_RATE_PER_MINUTE when that is null.
    rate_limit_per_minute: int
    sent_last_minute: int
    # The rules that notify this channel; each one's cooldown spaces its notices to it.
    rules: list[ChannelRuleOut]


class TestResultOut(Schema):
    # sent: the receiver took it (answer says how); dead: it failed (error says why);
    # pending: held back by the rate limit, the worker sends it later.
    state: Literal["sent", "dead", "pending"]
    answer: str
    error: str
    elapsed_ms: float


class ChannelTestOut(DeliveryOut):
    result: TestResultOut


class RevealIn(Body):
    model_config = example({"key": "secret"})

    key: Name = Field(..., max_length=50)


class RevealOut(Schema):
    key: str
    value: str


class DeliveryFilters(Schema):
    state: Literal["pending", "sending", "sent", "dead"] | None = None


def found(request: HttpRequest, channel_id: int, role: str = "viewer") -> Channel:
    """A channel of the person's projects (else 404) on which they have at least role (else 403)."""
    channel = read_channel(channel_id, request.user)
    if channel is None:
        raise Http404("no such channel")
    require_role(request, role, channel.project_id)
    return channel


@router.get("/channels", auth=user_auth, response={200: list[ChannelOut], **errors(401, 422, 503)})
@paginate(ShortPagination)
def list_channels(request: HttpRequest) -> Rows:
    return find_channels(request.user)


@router.post("/channels", auth=user_auth, response={201: ChannelOut, **errors(400, 401, 403, 413, 422, 503)})
def create_channel(request: HttpRequest, payload: ChannelIn) -> Status:
    project = project_for_new(request, payload.project)
    channel = channel_changes.create(request.user, payload.model_dump(), project)
    return Status(201, channel_out(channel))


@router.get("/channels/{channel_id}", auth=user_auth, response={200: ChannelDetail, **errors(401, 404, 422, 503)})
def get_channel(request: HttpRequest, channel_id: int) -> dict:
    return channel_detail(found(request, channel_id))


@router.get(
    "/channels/{channel_id}/deliveries",
    auth=user_auth,
    response={200: list[DeliveryOut], **errors(401, 404, 422, 503)},
)
@paginate(ShortPagination)
def list_channel_deliveries(request: HttpRequest, channel_id: int, filters: Query[DeliveryFilters]) -> Rows:
    return channel_deliveries(found(request, channel_id), filters.state)


@router.patch(
    "/channels/{channel_id}", auth=user_auth, response={200: ChannelOut, **errors(400, 401, 403, 404, 413, 422, 503)}
)
def update_channel(request: HttpRequest, channel_id: int, payload: ChannelPatch) -> dict:
    channel = channel_changes.update(
        request.user, found(request, channel_id, "admin"), payload.model_dump(exclude_unset=True)
    )
    return channel_out(channel)


@router.delete("/channels/{channel_id}", auth=user_auth, response={204: None, **errors(401, 403, 404, 422, 503)})
def delete_channel(request: HttpRequest, channel_id: int) -> Status:
    channel_changes.delete(request.user, found(request, channel_id, "admin"))
    return Status(204, None)


@router.post(
    "/channels/{channel_id}/test", auth=user_auth, response={202: ChannelTestOut, **errors(401, 403, 404, 422, 503)}
)
def test_channel(request: HttpRequest, channel_id: int) -> Status:
    delivery, result = outbox.send_test(found(request, channel_id, "admin"))
    delivery.refresh_from_db()
    return Status(202, {**delivery_out(delivery), "result": result.__dict__})


@router.post(
    "/channels/{channel_id}/reveal",
    auth=user_auth,
    response={200: RevealOut, **errors(400, 401, 403, 404, 413, 422, 503)},
)
def reveal_channel_secret(request: HttpRequest, channel_id: int, payload: RevealIn) -> dict:
    value = channel_changes.reveal(request.user, found(request, channel_id, "admin"), payload.key)
    return {"key": payload.key, "value": value}
