"""Write a validated batch inside the caller's transaction: functions, breakers, concurrency,
calls and their errors by type. How rows reach the database (PostgreSQL or SQLite) is the writer's (`writers.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction

from . import error_types, rollups
from .batch import Batch
from .fold import Functions, fold_calls
from .models import (
    Breaker,
    BreakerFlip,
    Concurrency,
    Function,
    Service,
)
from .writers import CallRows, writer

ONE_MINUTE = timedelta(minutes=1)  # last_seen moves at most this often per row


class CapReached(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass
class Known:
    """A service's functions (or queues) named by a batch: ids by name, last_seen by id."""

    ids: dict[str, int]
    last_seen: dict[int, datetime | None]

    @classmethod
    def read(cls, rows: models.QuerySet) -> Known:
        found = list(rows.values_list("name", "id", "last_seen"))
        return cls({name: id_ for name, id_, _ in found}, {id_: seen for _, id_, seen in found})


class Remembered:
    """Ids and last_seen of the functions and queues this process has stored, by service and name.

    A row keeps its id for life, so once a service's names are known its steady batches need
    no lookup. Entries are added only after the transaction that read or wrote them commits.
    last_seen may lag what another process wrote since; that costs one more write a minute,
    never a wrong id. Bounded by the per-service caps.
    """

    rows: dict[tuple[str, int, str], tuple[int, datetime | None]] = {}

    @classmethod
    def recall(cls, model: type[models.Model], service_id: int, names: list[str]) -> Known | None:
        label = model._meta.label
        found = [cls.rows.get((label, service_id, name)) for name in names]
        if None in found:
            return None
        return Known({name: row[0] for name, row in zip(names, found, strict=True)}, {row[0]: row[1] for row in found})

    @classmethod
    def keep_on_commit(cls, model: type[models.Model], service_id: int, known: Known) -> None:
        """Remember known as it stands when the transaction commits (last_seen may move first)."""
        label = model._meta.label

        def keep() -> None:
            cls.rows.update(
                {(label, service_id, name): (id_, known.last_seen.get(id_)) for name, id_ in known.ids.items()}
            )

        transaction.on_commit(keep)

    @classmethod
    def forget(cls, service_id: int) -> None:
        # list() copies the keys in one step: other threads may add rows meanwhile.
        for key in [key for key in list(cls.rows) if key[1] == service_id]:
            cls.rows.pop(key, None)
        error_types.Registered.forget(service_id)


def find_or_create(model: type[models.Model], service: Service, first_paths: dict[str, str]) -> Known:
    """The service's functions or queues by name, creating the new ones up to the cap.

    first_paths maps each name to the path of the first item naming it, for the error.
    """
    names = list(first_paths)
    remembered = Remembered.recall(model, service.id, names)
    if remembered is not None:
        return remembered
    named = model.objects.filter(service=service, name__in=names).order_by()
    known = Known.read(named)
    if len(known.ids) < len(names):
        known = create_missing(model, service, first_paths, named)
    Remembered.keep_on_commit(model, service.id, known)
    return known


def create_missing(
    model: type[models.Model], service: Service, first_paths: dict[str, str], named: models.QuerySet
) -> Known:
    # Lock the service so two batches cannot both squeeze past the cap. NO KEY UPDATE, because
    # every batch already holds the service row's KEY SHARE lock (its IngestBatch row's foreign key).
    Service.objects.select_for_update(no_key=True).filter(id=service.id).first()
    # Read once: what another batch created while we waited for the lock is not new.
    existing = Known.read(named).ids
    new = [name for name in first_paths if name not in existing]
    cap = settings.MONITOR_MAX_FUNCTIONS_PER_SERVICE
    room = cap - model.objects.filter(service=service).count()
    if len(new) > room:
        kind = model._meta.verbose_name_plural
        raise CapReached(
            first_paths[new[max(room, 0)]], f"service {service.name} has reached its limit of {cap} {kind}"
        )
    writer().insert_names(model._meta.db_table, service.id, new)
    return Known.read(named)


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
    known = find_or_create(Function, service, paths)
    ids = known.ids
    instance = batch.instance or ""
    write_concurrency(batch, ids, instance)
    flips = write_breakers(batch, ids, instance)
    if batch.calls:
        # The busiest rows last, so their locks are held for the shortest time before commit.
        shard = writer().pick_shard()
        folds, minutes = fold_calls(batch.calls, ids)
        touch_last_seen(Function, service, {function_id: fold.last_seen for function_id, fold in folds.items()}, known)
        errors = errors_by_type(service, batch, ids)
        rollups.note_late(service.id, minutes)  # only a batch with calls the roll-ups may have passed
        writer().write_calls(folds, minutes, errors, shard)
    return flips


def errors_by_type(service: Service, batch: Batch, ids: dict[str, int]) -> error_types.TypedErrors:
    """The batch's errors folded by type and minute, each type given its row (new ones created)."""
    errors = error_types.fold_errors(batch.calls, ids)
    return error_types.by_type(service.id, errors) if errors else {}


def steady_calls(service: Service, batch: Batch) -> CallRows | None:
    """The rows of a batch that needs nothing but the calls upsert, as a steady reporter's
    batches do: calls only, every function and error type already known to this process, no
    last_seen due to move. None for any other batch (it takes the general path)."""
    if batch.breakers or batch.concurrency or batch.queues or not batch.calls:
        return None
    known = Remembered.recall(Function, service.id, list(dict.fromkeys(call.function for call in batch.calls)))
    if known is None:
        return None
    minute_at: dict[datetime, datetime] = {}  # each time's minute, worked out once for both folds
    functions, minutes = fold_calls(batch.calls, known.ids, minute_at)
    if any_due(known, functions):
        return None
    errors = error_types.fold_errors(batch.calls, known.ids, minute_at)
    type_ids: dict[tuple[int, str], int] = {}
    if errors:
        type_ids, missing = error_types.Registered.recall(service.id, error_types.wanted_types(errors))
        if missing:
            return None
    if rollups.late_minutes(minutes):
        return None  # its late minutes are recorded in the batch's transaction
    return CallRows(functions, minutes, error_types.typed(type_ids, errors))  # all types known: no query


def any_due(known: Known, functions: Functions) -> bool:
    """Whether any function's last_seen is due to move (as due() says, for a whole batch).

    A batch's functions share a few times: each one's minute before is worked out once."""
    last_seen = known.last_seen
    limits: dict[datetime, datetime] = {}
    for row_id, fold in functions.items():
        seen = last_seen.get(row_id)
        if seen is None:
            return True
        at = fold.last_seen
        limit = limits.get(at)
        if limit is None:
            limit = limits[at] = at - ONE_MINUTE
        if seen < limit:
            return True
    return False


def due(known: Known, row_id: int, at: datetime) -> bool:
    """Whether last_seen is to move to at: it moves at most once a minute per row."""
    seen = known.last_seen.get(row_id)
    return seen is None or seen < at - ONE_MINUTE


def touch_last_seen(model: type[models.Model], service: Service, seen: dict[int, datetime], known: Known) -> None:
    """Move last_seen forward, at most once a minute per row, so busy rows are rarely rewritten.

    On PostgreSQL the writer moves the rows no other batch is moving at this moment; one that
    is (its row locked until it commits) moves it to about the same time, so this batch does
    not wait, and neither batch writes the row again for a minute. (Should that other batch
    roll back, the row moves a minute later.)
    """
    stale = {row_id: at for row_id, at in sorted(seen.items()) if due(known, row_id, at)}
    if stale:
        writer().touch_last_seen(model, stale)
        known.last_seen.update(stale)
        Remembered.keep_on_commit(model, service.id, known)


def check_instance_room(model: type[models.Model], function_ids: set[int], instance: str, ids: dict[str, int]) -> None:
    """Refuse a batch whose instance would give a function more rows of model than the cap.

    Not locked: new instances reporting at the same moment may pass the cap by as many.
    """
    if not function_ids:
        return
    cap = settings.MONITOR_MAX_INSTANCES_PER_FUNCTION
    full = (
        model.objects.filter(function_id__in=function_ids)
        .values("function_id")
        .annotate(rows=models.Count("id"), mine=models.Count("id", filter=models.Q(instance=instance)))
        .filter(rows__gte=cap, mine=0)
        .order_by("function_id")
        .values_list("function_id", flat=True)
    )
    for function_id in full[:1]:
        name = next(name for name, id_ in ids.items() if id_ == function_id)
        raise CapReached("instance", f"function {name} has reached its limit of {cap} instances")


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
    check_instance_room(Concurrency, set(latest), instance, ids)
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
    check_instance_room(Breaker, reported - current.keys(), instance, ids)
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
                    function_id=function_id,
                    instance=instance,
                    old_state=old_state,
                    new_state=report.state,
                    at=report.ts,
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
