"""The ingest path: parse, validate, claim the idempotency key, store, answer."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from pydantic import ValidationError

from alerts.hooks import breakers_flipped
from monitoring.batch import Batch, OutsideWindow, check_window, first_error, window_error_before
from monitoring.models import BreakerFlip, IngestBatch, Service
from monitoring.store import CapReached, Remembered, steady_calls, store_functions
from monitoring.writers import writer
from queues.store import store_snapshots

log = logging.getLogger(__name__)


class IngestError(Exception):
    status = 422
    reason = "invalid"  # what the service's refusal count says (RefusalReason)

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def answer(self) -> dict:
        detail = f"{self.field}: {self.message}" if self.field else self.message
        return {"detail": detail, "field": self.field}


class BadJson(IngestError):
    status = 400


class TooLarge(IngestError):
    status = 413
    reason = "too_large"


class OverCap(IngestError):
    reason = "cap"


class KeyReused(IngestError):
    status = 409


@dataclass
class Result:
    status: int
    answer: dict
    flips: list[BreakerFlip] = field(default_factory=list)


def parse(body: bytes) -> Batch:
    if len(body) > settings.MONITOR_MAX_BODY_BYTES:
        raise TooLarge(f"body is {len(body)} bytes; the limit is {settings.MONITOR_MAX_BODY_BYTES}")
    try:
        batch = Batch.model_validate_json(body)
        check_window(batch)
    except OutsideWindow as error:
        raise IngestError(error.message, error.path) from None
    except ValidationError as error:
        path, message = first_error(error)
        first = error.errors()[0]
        if first["type"] == "json_invalid":
            raise BadJson(f"body is not valid JSON: {message.removeprefix('Invalid JSON: ')}") from None
        path, message = window_error_before(body, first["loc"]) or (path, message)
        raise IngestError(message, path or "body") from None
    items = sum(batch.counts().values())
    if items == 0:
        raise IngestError("a batch needs at least one item in calls, breakers, concurrency or queues", "body")
    if items > settings.MONITOR_MAX_BATCH_ITEMS:
        raise TooLarge(f"batch has {items} items; the limit is {settings.MONITOR_MAX_BATCH_ITEMS}")
    return batch


def claim(service: Service, key: str, body_digest: str, answer: dict, field: str) -> IngestBatch | None:
    """Record the key with its answer, or return the batch that already holds it.

    A concurrent batch with the same key makes the insert wait for that batch's commit.
    """
    if writer().claim(service.id, key, body_digest, answer):
        return None
    seen = IngestBatch.objects.get(service=service, key=key)
    if seen.body_digest != body_digest:
        raise KeyReused("was already used for a different batch", field)
    return seen


def claim_all(service: Service, keys: dict[str, str], body_digest: str, answer: dict) -> IngestBatch | None:
    """Claim every key of the batch; the batch first seen under any of them, or None if none was.

    Claiming them all (a key new to a replay included) makes a replay count nothing however
    it names itself: by its batch_id, its Idempotency-Key, or both.
    """
    seen = None
    for key in sorted(keys):  # one order, so two batches claiming the same keys cannot deadlock
        seen = claim(service, key, body_digest, answer, keys[key]) or seen
    return seen


def idempotency_keys(batch: Batch, header: str | None) -> dict[str, str]:
    """The batch's keys, each with the field it came from (named in a 409)."""
    keys = {header: "Idempotency-Key"} if header else {}
    if batch.batch_id:
        keys[batch.batch_id] = "batch_id"
    return keys


def ingest(service: Service, body: bytes, idempotency_key: str | None = None) -> Result:
    batch = parse(body)
    keys = idempotency_keys(batch, idempotency_key)
    # The parsed batch's digest, not the body's: the same batch written otherwise is a replay.
    body_digest = batch.digest() if keys else ""
    try:
        return store_batch(service, batch, keys, body_digest)
    except IntegrityError:
        # A function or queue this process remembered is gone (deleted by hand): the whole
        # transaction rolled back, so look the names up afresh and store once more.
        log.warning("service %s: a remembered function or queue is gone; storing again", service.name)
        Remembered.forget(service.id)
        return store_batch(service, batch, keys, body_digest)


def store_batch(service: Service, batch: Batch, keys: dict[str, str], body_digest: str) -> Result:
    # The writer returns once the transaction holding the batch has committed: its own here,
    # or on the embedded server a group's, written by one thread for many requests.
    items = sum(batch.counts().values())
    result = writer().committed(lambda: write_batch(service, batch, keys, body_digest), items)
    if result.flips:
        breakers_flipped(result.flips)  # evaluates breaker rules for these functions once committed
    return result


def write_batch(service: Service, batch: Batch, keys: dict[str, str], body_digest: str) -> Result:
    answer = {"accepted": batch.counts(), "duplicate": False}
    # A steady reporter's batch (calls only, names known, nothing else due) is claimed and
    # written in one statement. A key already held leaves it unwritten: the general path
    # below then answers the replay (or the 409).
    if len(keys) <= 1 and writer().one_statement and (rows := steady_calls(service, batch)) is not None:
        if writer().claim_and_write_calls(service.id, next(iter(keys), None), body_digest, answer, rows):
            return Result(202, answer)
    with transaction.atomic():
        if keys:
            seen = claim_all(service, keys, body_digest, answer)
            if seen is not None:
                return Result(200, {**seen.answer, "duplicate": True})
        try:
            flips = store_functions(service, batch)
            store_snapshots(service, batch.queues)
        except CapReached as error:
            raise OverCap(error.message, error.field) from None
    return Result(202, answer, flips)
