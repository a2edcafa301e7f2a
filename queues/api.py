"""The queues API: every queue's latest snapshot and growth, and one queue over time."""

# No `from __future__ import annotations`: ninja resolves the annotations of a decorated
# view (@paginate, @shared) in the decorator's module, where these names are unknown.

from datetime import datetime

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema
from ninja.pagination import paginate
from pydantic import Field

from monitoring.auth import user_auth
from monitoring.health import window_start
from monitoring.inputs import Text
from monitoring.paging import Pagination, Rows
from monitoring.schemas import errors

from .models import Queue
from .read import find_queues

router = Router(tags=["queues"])


class SnapshotOut(Schema):
    at: datetime
    depth: int
    in_flight: int
    dead_letter: int
    oldest_age_s: float | None


class QueueOut(Schema):
    id: int
    service: str
    name: str
    last_seen: datetime | None
    latest: SnapshotOut | None
    growth_5m: int | None = Field(None, description="depth now minus depth 5 minutes ago")


class QueueSeries(Schema):
    minutes: int
    points: list[SnapshotOut]


class QueueFilters(Schema):
    service: Text | None = Field(None, max_length=200)


@router.get("/queues", auth=user_auth, response={200: list[QueueOut], **errors(401, 422, 503)})
@paginate(Pagination)
def list_queues(request: HttpRequest, filters: Query[QueueFilters]) -> Rows:
    return find_queues(filters.service)


@router.get("/queues/{queue_id}/series", auth=user_auth, response={200: QueueSeries, **errors(401, 404, 422, 503)})
def queue_series(request: HttpRequest, queue_id: int, minutes: int = Query(60, ge=1, le=1440)) -> dict:
    queue = get_object_or_404(Queue, id=queue_id)
    points = queue.snapshots.filter(at__gte=window_start(minutes)).order_by("at")
    return {"minutes": minutes, "points": list(points)}
