"""The queues' read layer, used by their pages, their API and the overview."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

from monitoring.health import window_start
from monitoring.paging import Rows
from monitoring.projects import User, scoped

from .models import Queue, Snapshot


def visible_queues(user: User | None) -> QuerySet[Queue]:
    """The queues of the projects the person may see (monitoring/projects.py)."""
    return scoped(Queue.objects.select_related("service"), user)


def find_queues(user: User | None, service: str | None = None) -> Rows:
    """Queues (of the person's projects; of a service) with their latest snapshot and their
    growth over 5 minutes."""
    newest = Snapshot.objects.filter(queue=OuterRef("pk")).order_by("-at").values("id")[:1]
    queues = visible_queues(user).annotate(latest_id=Subquery(newest))
    if service:
        queues = queues.filter(service__name=service)
    return Rows(queues, with_latest)


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


def queue_growth(queue_ids: list[int], minutes: int = 5) -> dict[int, int]:
    """Depth now minus depth at the start of the window, per queue that reported in it."""
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    snapshots = Snapshot.objects.filter(queue_id__in=queue_ids, at__gte=window_start(minutes)).order_by("at")
    for queue_id, depth in snapshots.values_list("queue_id", "depth"):
        first.setdefault(queue_id, depth)
        last[queue_id] = depth
    return {queue_id: last[queue_id] - first[queue_id] for queue_id in last}


def queues_backing_up(queues: QuerySet[Queue] | None = None, minutes: int = 5) -> list[dict]:
    """Queues (of these, default all) whose depth grew over the window and is not empty now,
    fastest growth first."""
    queues = Queue.objects.select_related("service") if queues is None else queues
    growth = queue_growth(list(queues.values_list("id", flat=True)), minutes)
    growing = [queue_id for queue_id, grown in growth.items() if grown > 0]
    queues = queues.filter(id__in=growing)
    rows = [{"id": q.id, "service": q.service.name, "name": q.name, "growth": growth[q.id]} for q in queues]
    return sorted(rows, key=lambda row: -row["growth"])
