"""Write a batch's queue snapshots, inside the ingest transaction."""

from __future__ import annotations

from monitoring.batch import QueueReport
from monitoring.models import Service
from monitoring.store import ids_for_names

from .models import Queue, Snapshot


def store_snapshots(service: Service, reports: list[QueueReport]) -> None:
    if not reports:
        return
    paths: dict[str, str] = {}
    for i, report in enumerate(reports):
        paths.setdefault(report.queue, f"queues[{i}].queue")
    ids = ids_for_names(Queue, service, paths)
    Snapshot.objects.bulk_create(
        [
            Snapshot(
                queue_id=ids[report.queue],
                at=report.ts,
                depth=report.depth,
                in_flight=report.in_flight,
                dead_letter=report.dead_letter,
                oldest_age_s=report.oldest_age_s,
            )
            for report in reports
        ]
    )
    newest: dict[int, Queue] = {}
    for report in reports:
        queue_id = ids[report.queue]
        if queue_id not in newest or report.ts > newest[queue_id].last_seen:
            newest[queue_id] = Queue(id=queue_id, last_seen=report.ts)
    Queue.objects.bulk_update([newest[key] for key in sorted(newest)], ["last_seen"])
