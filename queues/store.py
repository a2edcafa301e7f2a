"""Write a batch's queue snapshots, inside the ingest transaction."""

from __future__ import annotations

from datetime import datetime

from monitoring.batch import QueueReport
from monitoring.models import Service
from monitoring.store import find_or_create, touch_last_seen

from .models import Queue, Snapshot


def store_snapshots(service: Service, reports: list[QueueReport]) -> None:
    if not reports:
        return
    paths: dict[str, str] = {}
    for i, report in enumerate(reports):
        paths.setdefault(report.queue, f"queues[{i}].queue")
    known = find_or_create(Queue, service, paths)
    ids = known.ids
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
    newest: dict[int, datetime] = {}
    for report in reports:
        queue_id = ids[report.queue]
        newest[queue_id] = max(report.ts, newest.get(queue_id, report.ts))
    touch_last_seen(Queue, service, newest, known)
