from __future__ import annotations

from datetime import datetime

from django.db.models import OuterRef, Subquery
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema
from pydantic import Field

from monitoring.auth import user_auth
from monitoring.health import window_start
from monitoring.schemas import Error

from .models import Queue, Snapshot
from .read import queue_growth

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


class QueuePage(Schema):
    items: list[QueueOut]
    count: int


class QueueSeries(Schema):
    minutes: int
    points: list[SnapshotOut]


class QueueFilters(Schema):
    service: str | None = None
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0)


def with_latest(queues: list[Queue]) -> list[dict]:
    latest_ids = [queue.latest_id for queue in queues if queue.latest_id]
    snapshots = {snapshot.queue_id: snapshot for snapshot in Snapshot.objects.filter(id__in=latest_ids)}
    growth = queue_growth([q.id for q in queues])
    return [
        {
            "id": q.id,
            "service": q.service.name,
            "name": q.name,
            "last_seen": q.last_seen,
            "latest": snapshots.get(q.id),
            "growth_5m": growth.get(q.id),
        }
        for q in queues
    ]


@router.get("/queues", auth=user_auth, response=QueuePage)
def list_queues(request: HttpRequest, filters: Query[QueueFilters]) -> dict:
    newest = Snapshot.objects.filter(queue=OuterRef("pk")).order_by("-at").values("id")[:1]
    queues = Queue.objects.select_related("service").annotate(latest_id=Subquery(newest))
    if filters.service:
        queues = queues.filter(service__name=filters.service)
    page = list(queues[filters.offset : filters.offset + filters.limit])
    return {"items": with_latest(page), "count": queues.count()}


@router.get("/queues/{queue_id}/series", auth=user_auth, response={200: QueueSeries, 404: Error})
def queue_series(request: HttpRequest, queue_id: int, minutes: int = Query(60, ge=1, le=1440)) -> dict:
    queue = get_object_or_404(Queue, id=queue_id)
    points = queue.snapshots.filter(at__gte=window_start(minutes)).order_by("at")
    return {"minutes": minutes, "points": list(points)}
