"""A batch's errors by type: folded in memory by (function, type, minute), each type given its
row (at most MONITOR_MAX_ERROR_TYPES per function, the rest counted as "other"), then written
by the engine's writer in the batch's transaction.

An error is a call whose outcome is failure, timeout or rejected (as in the error rate). Its
type is the error_type it names; a call that names none is counted under its outcome
("failure", "timeout" or "rejected"), so the types of a range add up to its errors.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction

from .batch import AnyCall
from .fold import minute_of
from .models import ErrorType

# Keys: (function id, type name, minute).
Errors = dict[tuple[int, str, datetime], "ErrorFold"]
# Keys: (type id, minute).
TypedErrors = dict[tuple[int, datetime], "ErrorFold"]


@dataclass
class ErrorFold:
    count: int
    first_seen: datetime
    last_seen: datetime

    def add(self, other: ErrorFold) -> None:
        self.count += other.count
        self.first_seen = min(self.first_seen, other.first_seen)
        self.last_seen = max(self.last_seen, other.last_seen)


def type_name(call: AnyCall) -> str:
    """The name an error is counted under: its error_type, made storable, or its outcome.

    Ingest already refuses control characters; stripping them again keeps the stored names
    clean whatever the caller. Long names are cut to ErrorType.NAME_LENGTH, ending in "…".
    """
    name = call.error_type
    if name is None:
        return call.outcome
    if not name.isprintable():
        name = "".join(character for character in name if character.isprintable())
    name = name.strip()
    if not name:
        return call.outcome
    if len(name) > ErrorType.NAME_LENGTH:
        name = name[: ErrorType.NAME_LENGTH - 1] + "…"
    return name


def fold_errors(
    calls: list[AnyCall], function_ids: dict[str, int], minute_at: dict[datetime, datetime] | None = None
) -> Errors:
    """minute_at: each time's minute, as fold_calls found them (a batch's calls share few times)."""
    folds: Errors = {}
    minute_at = {} if minute_at is None else minute_at
    for call in calls:
        if call.outcome == "success":
            continue
        ts = call.ts
        minute = minute_at.get(ts)
        if minute is None:
            minute = minute_at[ts] = minute_of(ts)
        key = (function_ids[call.function], type_name(call), minute)
        fold = folds.get(key)
        if fold is None:
            folds[key] = ErrorFold(call.count, call.ts, call.ts)
        else:
            fold.count += call.count
            fold.first_seen = min(fold.first_seen, call.ts)
            fold.last_seen = max(fold.last_seen, call.ts)
    return folds


class Registered:
    """Type ids by (service, function, name) as this process stored or read them.

    Like store.Remembered: a steady reporter's batch needs no lookup. A name counted as
    "other" maps to the function's OTHER row, and stays there while this process remembers
    it. Entries are added when the transaction commits; past LIMIT entries all are dropped.
    """

    LIMIT = 200_000
    ids: dict[tuple[int, int, str], int] = {}

    @classmethod
    def recall(cls, service_id: int, wanted: list[tuple[int, str]]) -> tuple[dict[tuple[int, str], int], list]:
        """The ids this process knows, and the (function, name) pairs it does not."""
        known, missing = {}, []
        for function_id, name in wanted:
            type_id = cls.ids.get((service_id, function_id, name))
            if type_id is None:
                missing.append((function_id, name))
            else:
                known[(function_id, name)] = type_id
        return known, missing

    @classmethod
    def keep_on_commit(cls, service_id: int, found: dict[tuple[int, str], int]) -> None:
        def keep() -> None:
            if len(cls.ids) > cls.LIMIT:
                cls.ids = {}
            cls.ids.update({(service_id, function_id, name): id_ for (function_id, name), id_ in found.items()})

        transaction.on_commit(keep)

    @classmethod
    def forget(cls, service_id: int) -> None:
        for key in [key for key in list(cls.ids) if key[0] == service_id]:
            cls.ids.pop(key, None)


def stored_types(function_ids: list[int]) -> dict[int, dict[str, int]]:
    """{function id: {type name: type id}} as stored."""
    stored: dict[int, dict[str, int]] = defaultdict(dict)
    rows = ErrorType.objects.filter(function_id__in=function_ids).order_by()
    for function_id, name, type_id in rows.values_list("function_id", "name", "id"):
        stored[function_id][name] = type_id
    return stored


def register(missing: list[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """Ids for names new to this process, creating the types that fit under the cap.

    Not locked: batches bringing new types of one function at the same moment may pass the
    cap by as many. Names first seen first get the room left, in the batch's order.
    """
    function_ids = sorted({function_id for function_id, _ in missing})
    stored = stored_types(function_ids)
    new: list[ErrorType] = []
    cap = settings.MONITOR_MAX_ERROR_TYPES
    for function_id in function_ids:
        names = stored[function_id]
        unknown = [name for f, name in missing if f == function_id and name not in names]
        room = max(cap - sum(1 for name in names if name != ErrorType.OTHER), 0)
        new += [ErrorType(function_id=function_id, name=name) for name in unknown[:room]]
        if unknown[room:] and ErrorType.OTHER not in names:
            new.append(ErrorType(function_id=function_id, name=ErrorType.OTHER))
    if new:
        # In one order, so two batches creating the same types cannot deadlock.
        new.sort(key=lambda row: (row.function_id, row.name))
        ErrorType.objects.bulk_create(new, ignore_conflicts=True)
        stored = stored_types(function_ids)
    return {
        (function_id, name): stored[function_id].get(name) or stored[function_id][ErrorType.OTHER]
        for function_id, name in missing
    }


def type_ids(service_id: int, wanted: list[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """Ids of the (function, name) pairs wanted, listed without repeats in the order first seen."""
    known, missing = Registered.recall(service_id, wanted)
    if missing:
        found = register(missing)
        Registered.keep_on_commit(service_id, found)
        known.update(found)
    return known


def by_type(service_id: int, errors: Errors) -> TypedErrors:
    """The folds keyed by type id: names counted as "other" add up on its row."""
    # In the order the batch first names them: those get the room left under the cap.
    return typed(type_ids(service_id, wanted_types(errors)), errors)


def wanted_types(errors: Errors) -> list[tuple[int, str]]:
    """The (function, name) pairs of the errors, without repeats, in the order first seen."""
    return list(dict.fromkeys((function_id, name) for function_id, name, _ in errors))


def typed(ids: dict[tuple[int, str], int], errors: Errors) -> TypedErrors:
    """The folds keyed by the type ids given for their (function, name)."""
    folds: TypedErrors = {}
    for (function_id, name, minute), fold in errors.items():
        key = (ids[(function_id, name)], minute)
        if key in folds:
            folds[key].add(fold)
        else:
            folds[key] = ErrorFold(fold.count, fold.first_seen, fold.last_seen)
    return folds
