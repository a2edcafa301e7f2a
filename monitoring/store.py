"""Write a validated batch: one statement per table, inside the caller's transaction.

PostgreSQL gets set-based upserts (INSERT ... SELECT unnest(...) ON CONFLICT DO UPDATE) so
concurrent batches add up without a read. Other databases (the embedded SQLite) read,
merge and write back, which is safe because SQLite's IMMEDIATE transactions take the
write lock before the read.
"""

from __future__ import annotations

import json
from datetime import datetime

from django.conf import settings
from django.db import connection, models

from .batch import Batch
from .fold import FunctionFold, MinuteFold, fold_functions, fold_minutes
from .models import Breaker, BreakerFlip, CallBucket, Concurrency, Function, Service


class CapReached(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def ids_for_names(model: type[models.Model], service: Service, first_paths: dict[str, str]) -> dict[str, int]:
    """Ids of the service's functions or queues by name, creating the new ones up to the cap.

    first_paths maps each name to the path of the first item naming it, for the error.
    """
    names = list(first_paths)
    ids = dict(model.objects.filter(service=service, name__in=names).values_list("name", "id"))
    if len(ids) == len(names):
        return ids
    # Lock the service so two batches cannot both squeeze past the cap.
    Service.objects.select_for_update().filter(id=service.id).first()
    ids = dict(model.objects.filter(service=service, name__in=names).values_list("name", "id"))
    new = [name for name in names if name not in ids]
    cap = settings.MONITOR_MAX_FUNCTIONS_PER_SERVICE
    room = cap - model.objects.filter(service=service).count()
    if len(new) > room:
        kind = model._meta.verbose_name_plural
        raise CapReached(first_paths[new[max(room, 0)]], f"service {service.name} has reached its limit of {cap} {kind}")
    model.objects.bulk_create([model(service=service, name=name) for name in new], ignore_conflicts=True)
    return dict(model.objects.filter(service=service, name__in=names).values_list("name", "id"))


def function_paths(batch: Batch) -> dict[str, str]:
    paths: dict[str, str] = {}
    for kind in ("calls", "breakers", "concurrency"):
        for i, item in enumerate(getattr(batch, kind)):
            paths.setdefault(item.function, f"{kind}[{i}].function")
    return paths


def store_functions(service: Service, batch: Batch) -> list[BreakerFlip]:
    """Store calls, breakers and concurrency; returns the breaker flips it recorded."""
    paths = function_paths(batch)
    if not paths:
        return []
    ids = ids_for_names(Function, service, paths)
    if batch.calls:
        write_buckets(fold_minutes(batch.calls, ids))
        write_functions(fold_functions(batch.calls, ids))
    instance = batch.instance or ""
    write_concurrency(batch, ids, instance)
    return write_breakers(batch, ids, instance)


BUCKET_UPSERT = """
INSERT INTO {table} (function_id, minute, success, failure, timeout, rejected, retries,
                     latency_sum_ms, latency_max_ms, histogram)
SELECT * FROM unnest(%s::bigint[], %s::timestamptz[], %s::int[], %s::int[], %s::int[], %s::int[],
                     %s::int[], %s::float8[], %s::float8[], %s::jsonb[])
ON CONFLICT (function_id, minute) DO UPDATE SET
    success = {table}.success + EXCLUDED.success,
    failure = {table}.failure + EXCLUDED.failure,
    timeout = {table}.timeout + EXCLUDED.timeout,
    rejected = {table}.rejected + EXCLUDED.rejected,
    retries = {table}.retries + EXCLUDED.retries,
    latency_sum_ms = {table}.latency_sum_ms + EXCLUDED.latency_sum_ms,
    latency_max_ms = GREATEST({table}.latency_max_ms, EXCLUDED.latency_max_ms),
    histogram = monitor_histogram_add({table}.histogram, EXCLUDED.histogram)
"""


def write_buckets(folds: dict[tuple[int, datetime], MinuteFold]) -> None:
    # Sorted keys make concurrent upserts lock rows in one order, so they cannot deadlock.
    keys = sorted(folds)
    rows = [folds[key] for key in keys]
    if on_postgres():
        with connection.cursor() as cursor:
            cursor.execute(
                BUCKET_UPSERT.format(table=CallBucket._meta.db_table),
                [
                    [key[0] for key in keys],
                    [key[1] for key in keys],
                    *([getattr(row, field) for row in rows] for field in CallBucket.COUNTED[:5]),
                    [row.latency_sum_ms for row in rows],
                    [row.latency_max_ms for row in rows],
                    [json.dumps(row.histogram) for row in rows],
                ],
            )
        return
    existing = {
        (bucket.function_id, bucket.minute): bucket
        for bucket in CallBucket.objects.filter(
            function_id__in={key[0] for key in keys}, minute__in={key[1] for key in keys}
        )
    }
    buckets = []
    for key, fold in zip(keys, rows):
        bucket = existing.get(key) or CallBucket(function_id=key[0], minute=key[1])
        bucket.add(fold)
        buckets.append(bucket)
    CallBucket.objects.bulk_create(
        buckets,
        update_conflicts=True,
        unique_fields=["function", "minute"],
        update_fields=[*CallBucket.COUNTED, "latency_max_ms", "histogram"],
    )


FUNCTION_UPDATE = """
UPDATE {table} AS f
SET recent_outcomes = right(f.recent_outcomes || v.recent, 20),
    last_seen = GREATEST(f.last_seen, v.seen)
FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[]) AS v(id, recent, seen)
WHERE f.id = v.id
"""


def write_functions(folds: dict[int, FunctionFold]) -> None:
    ids = sorted(folds)
    if on_postgres():
        with connection.cursor() as cursor:
            cursor.execute(
                FUNCTION_UPDATE.format(table=Function._meta.db_table),
                [ids, [folds[i].recent_outcomes for i in ids], [folds[i].last_seen for i in ids]],
            )
        return
    functions = list(Function.objects.filter(id__in=ids))
    for function in functions:
        fold = folds[function.id]
        function.recent_outcomes = (function.recent_outcomes + fold.recent_outcomes)[-20:]
        if function.last_seen is None or fold.last_seen > function.last_seen:
            function.last_seen = fold.last_seen
    Function.objects.bulk_update(functions, ["recent_outcomes", "last_seen"])


def write_concurrency(batch: Batch, ids: dict[str, int], instance: str) -> None:
    latest: dict[int, Concurrency] = {}
    for report in sorted(batch.concurrency, key=lambda report: report.ts):
        function_id = ids[report.function]
        latest[function_id] = Concurrency(
            function_id=function_id,
            instance=instance,
            active=report.active,
            limit=report.limit,
            queued=report.queued,
            at=report.ts,
        )
    if latest:
        Concurrency.objects.bulk_create(
            [latest[key] for key in sorted(latest)],
            update_conflicts=True,
            unique_fields=["function", "instance"],
            update_fields=["active", "limit", "queued", "at"],
        )


def write_breakers(batch: Batch, ids: dict[str, int], instance: str) -> list[BreakerFlip]:
    if not batch.breakers:
        return []
    reported = {ids[report.function] for report in batch.breakers}
    current = {
        breaker.function_id: breaker
        for breaker in Breaker.objects.select_for_update().filter(function_id__in=reported, instance=instance)
    }
    flips = []
    for report in sorted(batch.breakers, key=lambda report: report.ts):
        function_id = ids[report.function]
        breaker = current.get(function_id)
        if breaker is not None and report.ts < breaker.updated:
            continue  # older than what this instance already told us
        if breaker is None or breaker.state != report.state:
            old_state = breaker.state if breaker else ""
            flips.append(
                BreakerFlip(
                    function_id=function_id, instance=instance, old_state=old_state, new_state=report.state, at=report.ts
                )
            )
            breaker = breaker or Breaker(function_id=function_id, instance=instance)
            breaker.state, breaker.since = report.state, report.ts
            current[function_id] = breaker
        breaker.updated = report.ts
    Breaker.objects.bulk_create(
        [current[key] for key in sorted(current)],
        update_conflicts=True,
        unique_fields=["function", "instance"],
        update_fields=["state", "since", "updated"],
    )
    return BreakerFlip.objects.bulk_create(flips)
