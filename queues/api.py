"""The queues API: every queue's latest snapshot and growth, and one queue over time."""

# No `from __future__ import annotations`: ninja resolves the annotations of a decorated
# view (@paginate, @shared) in the decorator's module, where these names are unknown.

from datetime import datetime

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Query, Router, Schema
from ninja.pagination import paginate
from pydantic import Field

from monitoring.api import FROM_HELP, RANGE_HELP, requested_window
from monitoring.auth import user_auth
from monitoring.health import window_start
from monitoring.inputs import Text
from monitoring.paging import Pagination, Rows
from monitoring.ranges import RANGE_PATTERN
from monitoring.schemas import errors

from . import series
from .read import find_queues, visible_queues

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


class QueuePoint(SnapshotOut):
    samples: int = Field(description="how many snapshots the point stands for")


class QueueSeries(Schema):
    minutes: int = Field(description="the span of the series in minutes")
    start: datetime = Field(alias="from", description="the range's start (the first step's, with a range)")
    end: datetime = Field(alias="to", description="the range's end (exclusive)")
    step_s: int | None = Field(
        description="seconds per point: 60, 300, 900, 3600 or 86400; null with `minutes` alone (every snapshot)"
    )
    points: list[QueuePoint] = Field(
        description="per step that had a snapshot, the largest depth, in flight, dead letters and oldest age in it; "
        "`at` is the step's start (with `minutes` alone, each snapshot as it was taken)"
    )


class QueueFilters(Schema):
    service: Text | None = Field(None, max_length=200)


@router.get("/queues", auth=user_auth, response={200: list[QueueOut], **errors(401, 422, 503)})
@paginate(Pagination)
def list_queues(request: HttpRequest, filters: Query[QueueFilters]) -> Rows:
    return find_queues(request.user, filters.service)


@router.get(
    "/queues/{queue_id}/series",
    auth=user_auth,
    response={200: QueueSeries, **errors(401, 404, 422, 503)},
    by_alias=True,  # "from" and "to", as the query names them
)
def queue_series(
    request: HttpRequest,
    queue_id: int,
    minutes: int = Query(
        60, ge=1, le=1440, description="every snapshot of the last so many minutes (when no range is given)"
    ),
    range_: str | None = Query(None, alias="range", pattern=RANGE_PATTERN, description=RANGE_HELP),
    start: datetime | None = Query(None, alias="from", description=FROM_HELP),
    end: datetime | None = Query(None, alias="to", description="ISO 8601 with an offset"),
) -> dict:
    """The queue over a range, a point per step holding the most it showed (see docs/api.md)."""
    queue = get_object_or_404(visible_queues(request.user), id=queue_id)
    if range_ is None and start is None and end is None:
        since = window_start(minutes)
        points = series.snapshots(queue, since)
        return {"minutes": minutes, "from": since, "to": timezone.now(), "step_s": None, "points": points}
    window = requested_window(range_, start, end, minutes)
    return {
        "minutes": int((window.end - window.start).total_seconds() // 60),
        "from": window.start,
        "to": window.end,
        "step_s": int(window.step.total_seconds()),
        "points": series.series(queue, window),
    }
