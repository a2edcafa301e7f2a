"""The OTLP path: decode an export request, translate it (otlp_map), store it as ingest batches.

Stored through ingest.write_batch, as /api/v1/ingest stores, so the same limits, idempotency,
caps and downstream hooks apply. One request may carry several resources (a Collector batches
pods together): each instance's points become one batch, all stored in one transaction.
"""

from __future__ import annotations

import hashlib
import logging
import zlib
from contextlib import nullcontext
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from pydantic import ValidationError

from alerts.hooks import breakers_flipped
from monitoring import cumulative
from monitoring.batch import CountedBatch, first_error
from monitoring.models import Service
from monitoring.store import Remembered
from monitoring.writers import writer

from .ingest import BadJson, IngestError, Result, TooLarge, write_batch
from .otlp_map import Translation, batches, item_count, read_request

log = logging.getLogger(__name__)

JSON = "application/json"
PROTOBUF = "application/x-protobuf"


class Unsupported(IngestError):
    status = 415


@dataclass
class Outcome:
    translation: Translation
    results: list[Result] = field(default_factory=list)
    duplicate: bool = False


def decompress(body: bytes, encoding: str) -> bytes:
    """The body as sent before gzip, refused past the body limit (a small gzip can hold a lot)."""
    if encoding in ("", "identity"):
        return body
    if encoding != "gzip":
        raise Unsupported(f'Content-Encoding "{encoding}" is not gzip')
    limit = settings.MONITOR_MAX_BODY_BYTES
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        plain = inflater.decompress(body, limit + 1)
    except zlib.error as error:
        raise BadJson(f"body is not valid gzip: {error}") from None
    if len(plain) > limit:
        raise TooLarge(f"body is over the limit of {limit} bytes once unzipped")
    if not inflater.eof:
        raise BadJson("body is not valid gzip: it ends early")
    return plain


def decode(body: bytes, content_type: str) -> ExportMetricsServiceRequest:
    if content_type == PROTOBUF:
        try:
            return ExportMetricsServiceRequest.FromString(body)
        except DecodeError as error:
            raise BadJson(f"body is not an OTLP protobuf ExportMetricsServiceRequest: {error}") from None
    try:
        return json_format.Parse(body, ExportMetricsServiceRequest(), ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError) as error:
        raise BadJson(f"body is not an OTLP JSON ExportMetricsServiceRequest: {error}") from None


def validated(found: dict) -> CountedBatch:
    """The batch with its reports validated by the batch's models; its calls are otlp_map's,
    made from checked points with every field CountedCall checks checked, so they are put in
    as they are: validating them again cost as much as reading the points."""
    try:
        batch = CountedBatch.model_validate({**found, "calls": []})
    except ValidationError as error:
        path, message = first_error(error)
        raise IngestError(message, path or "body") from None
    batch.calls = found.get("calls", [])
    return batch


def ingest_request(service: Service, request: ExportMetricsServiceRequest, key: str | None) -> Outcome:
    keys = {key: "Idempotency-Key"} if key else {}
    # The request's digest: the same points sent again (as protobuf or JSON) are a replay.
    digest = hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest() if keys else ""
    try:
        return store(service, read_request(request, service), keys, digest)
    except IntegrityError:
        # As ingest() does: a remembered function or queue is gone; look them up afresh.
        log.warning("service %s: a remembered function or queue is gone; storing again", service.name)
        Remembered.forget(service.id)
        return store(service, read_request(request, service), keys, digest)


def store(service: Service, translation: Translation, keys: dict[str, str], digest: str) -> Outcome:
    try:
        return store_batches(service, translation, keys, digest)
    except IngestError as error:
        if error.field in ("", "Idempotency-Key"):
            raise
        # A path into the batch made here (calls[3].function) means nothing to an OTLP sender.
        raise type(error)(error.message) from None


def store_batches(service: Service, translation: Translation, keys: dict[str, str], digest: str) -> Outcome:
    # One transaction for every instance's batch and the streams' new baselines, run by the
    # writer (on the embedded server its one thread: this request must hold no write of its
    # own while it waits there); breaker rules are evaluated once it committed.
    items = sum(
        len(pending.calls) + len(pending.breakers) + len(pending.gauges) for pending in translation.pending.values()
    )
    outcome = writer().committed(lambda: write_batches(service, translation, keys, digest), max(items, 1))
    flips = [flip for result in outcome.results for flip in result.flips]
    if flips:
        breakers_flipped(flips)
    return outcome


def write_batches(service: Service, translation: Translation, keys: dict[str, str], digest: str) -> Outcome:
    outcome = Outcome(translation)
    readings = translation.readings()
    # One instance's delta points need no transaction around their one batch: write_batch is
    # atomic by itself (on PostgreSQL a steady batch is one autocommit statement, as a JSON
    # batch is). Several batches, or cumulative baselines to lock and keep, need one.
    alone = not readings and len(translation.pending) <= 1
    with nullcontext() if alone else transaction.atomic():
        increments, keep = cumulative.increments(service, readings)
        check_size(translation, increments)
        for i, found in enumerate(batches(translation, increments)):
            # The keys are claimed with the first batch; a replay stops there, nothing counted.
            result = write_batch(service, validated(found), keys if i == 0 else {}, digest)
            if result.status == 200:
                outcome.duplicate = True
                return outcome
            outcome.results.append(result)
        cumulative.remember(service, keep)
    return outcome


def check_size(translation: Translation, increments: dict) -> None:
    """The batch limit counts points (a histogram point is one item, whatever its count),
    checked before their calls are made."""
    limit = settings.MONITOR_MAX_BATCH_ITEMS
    items = sum(item_count(pending, increments) for pending in translation.pending.values())
    if items > limit:
        raise TooLarge(f"request carries {items} items; the limit is {limit}")
