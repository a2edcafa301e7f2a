"""POST /otlp/v1/metrics: OTLP/HTTP metrics export, answered as OTLP/HTTP requires.

Answers come in the request's encoding: an ExportMetricsServiceResponse on success (200,
partial_success for rejected points and ignored metrics), a google.rpc.Status otherwise,
with the status codes of /api/v1/ingest. JSON errors also carry our `detail` and `field`.
"""

from __future__ import annotations

import logging

import orjson
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse

from monitoring.auth import ServiceTokenAuth, TooManyFailures, seconds_over_rate
from monitoring.models import IngestToken, Refusal

from . import live
from .ingest import IngestError
from .ingest_api import read_body
from .otlp import JSON, PROTOBUF, Outcome, Unsupported, decode, decompress, ingest_request
from .otlp_map import ServiceMismatch

log = logging.getLogger(__name__)

# google.rpc.Code for each answer, as OTLP/HTTP's Status carries it.
RPC_CODES = {400: 3, 401: 16, 403: 7, 409: 6, 413: 8, 415: 3, 422: 3, 429: 8, 503: 14}


def varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def status_message(code: int, message: str) -> bytes:
    """google.rpc.Status{code=1, message=2} in protobuf, written out: two fields do not need
    the googleapis package as a dependency."""
    text = message.encode()
    return b"\x08" + varint(code) + b"\x12" + varint(len(text)) + text


def error(encoding: str, status: int, message: str, field: str = "", **headers: str) -> HttpResponse:
    detail = f"{field}: {message}" if field else message
    code = RPC_CODES.get(status, 2)
    if encoding == PROTOBUF:
        response = HttpResponse(status_message(code, detail), status=status, content_type=PROTOBUF)
    else:
        body = {"code": code, "message": detail, "detail": detail, "field": field}
        response = HttpResponse(orjson.dumps(body), status=status, content_type=JSON)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def success(encoding: str, outcome: Outcome) -> HttpResponse:
    answer = ExportMetricsServiceResponse()
    translation = outcome.translation
    message = "a replay of a request already stored; nothing counted" if outcome.duplicate else translation.message()
    if translation.rejected or message:
        answer.partial_success.rejected_data_points = 0 if outcome.duplicate else translation.rejected
        answer.partial_success.error_message = message
    if encoding == PROTOBUF:
        return HttpResponse(answer.SerializeToString(), status=200, content_type=PROTOBUF)
    return HttpResponse(orjson.dumps(json_format.MessageToDict(answer)), status=200, content_type=JSON)


def authenticate(request: HttpRequest) -> IngestToken | None:
    return ServiceTokenAuth()(request)


@csrf_exempt
@require_POST
def export_metrics(request: HttpRequest) -> HttpResponse:
    encoding = request.content_type if request.content_type in (JSON, PROTOBUF) else ""
    answer_in = encoding or JSON
    try:
        token = authenticate(request)
    except TooManyFailures as refused:
        return error(answer_in, 429, str(refused), Retry_After=str(refused.retry_after))
    if token is None:
        return error(answer_in, 401, "an ingest token is needed: Authorization: Bearer <token>")
    if retry_after := seconds_over_rate(token):
        Refusal.note(token.service_id, "rate")
        detail = f"over {token.rate_limit()} requests a minute for this token"
        return error(answer_in, 429, detail, Retry_After=str(retry_after))
    try:
        outcome = export(request, token, encoding)
    except IngestError as refused:
        Refusal.note(token.service_id, refused.reason)
        return error(answer_in, refused.status, refused.message, refused.field)
    except ServiceMismatch as refused:
        Refusal.note(token.service_id, "invalid")
        return error(answer_in, 403, refused.message, "service.name")
    except (OperationalError, InterfaceError) as refused:
        log.warning("database unavailable for %s: %s", request.path, refused)
        return error(answer_in, 503, "the database cannot take this right now; retry", Retry_After="5")
    for result in outcome.results:  # committed by now
        live.publish_ingest(token.service_id, result)
    return success(answer_in, outcome)


def export(request: HttpRequest, token: IngestToken, encoding: str) -> Outcome:
    if not encoding:
        raise Unsupported(f"Content-Type must be {PROTOBUF} or {JSON}")
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (1 <= len(key) <= 255 and key.isprintable()):
        raise IngestError("must be 1 to 255 printable characters", "Idempotency-Key")
    body = decompress(read_body(request), request.headers.get("Content-Encoding", "").strip().lower())
    return ingest_request(token.service, decode(body, encoding), key)
