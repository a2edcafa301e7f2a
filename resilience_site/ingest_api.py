"""The ingest endpoints: /api/v1/ingest and /api/v1/ingest/validate."""

from __future__ import annotations

import logging

import orjson
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from ninja import Router

from monitoring.auth import ServiceTokenAuth, TooManyFailures, seconds_over_rate
from monitoring.models import Refusal
from monitoring.schemas import Error

from . import errors, live
from .ingest import IngestError, TooLarge, ingest, parse
from .schemas import IngestAnswer, ValidAnswer

router = Router(tags=["ingest"])
log = logging.getLogger(__name__)

INGEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Batch"}}},
    }
}


def json_response(status: int, body: dict, **headers: str) -> HttpResponse:
    response = HttpResponse(orjson.dumps(body), status=status, content_type="application/json")
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def error_response(error: IngestError) -> HttpResponse:
    return errors.error_response(error.status, error.message, error.field)


def read_body(request: HttpRequest) -> bytes:
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    limit = settings.MONITOR_MAX_BODY_BYTES
    if declared > limit:
        raise TooLarge(f"body is {declared} bytes; the limit is {limit}")
    try:
        return request.body
    except RequestDataTooBig:
        raise TooLarge(f"body is over the limit of {limit} bytes") from None


def counted(request: HttpRequest, reason: str, response: HttpResponse) -> HttpResponse:
    """The refusal, counted for the token's service (shown on its pages and in /services)."""
    Refusal.note(request.auth.service_id, reason)
    return response


def refusal(request: HttpRequest) -> HttpResponse | None:
    """The answer for a token over its rate or a body that is not JSON; None when neither."""
    token = request.auth
    retry_after = seconds_over_rate(token)
    if retry_after:
        detail = f"over {token.rate_limit()} requests a minute for this token"
        return errors.error_response(429, detail, Retry_After=str(retry_after))
    if request.content_type != "application/json":
        return errors.error_response(415, "Content-Type must be application/json")
    return None


@router.post(
    "/ingest",
    auth=ServiceTokenAuth(),
    response={
        200: IngestAnswer,
        202: IngestAnswer,
        400: Error,
        401: Error,
        409: Error,
        413: Error,
        415: Error,
        422: Error,
        429: Error,
        503: Error,
    },
    openapi_extra=INGEST_BODY,
    summary="Report calls, breaker states, concurrency and queue snapshots",
)
def ingest_batch(request: HttpRequest) -> HttpResponse:
    if refused := refusal(request):
        return counted(request, "rate" if refused.status_code == 429 else "invalid", refused)
    key = request.headers.get("Idempotency-Key")
    try:
        if key is not None and not (1 <= len(key) <= 255 and key.isprintable()):
            raise IngestError("must be 1 to 255 printable characters", "Idempotency-Key")
        result = ingest(request.auth.service, read_body(request), key)
    except IngestError as error:
        return counted(request, error.reason, error_response(error))
    if result.status == 202:  # committed by now: ingest() ends its transaction
        live.publish_ingest(request.auth.service_id, result)
    return json_response(result.status, result.answer)


bearer = ServiceTokenAuth()


def ingest_direct(request: HttpRequest) -> HttpResponse:
    """POST /api/v1/ingest as the production WSGI application serves it (wsgi.IngestHandler):
    the same view, its token checked as the ninja operation checks it, answered the same way,
    without the URL resolution and the ninja operation around it (0.1-0.2 ms a batch).

    ninja's operation adds nothing else here: the view reads its own body and answers with
    its own responses. The operation (above) stays what the API documents and what every
    other way into the site (the test client, ASGI) runs.
    """
    try:
        token = bearer(request)
        if not token:
            return errors.error_response(401, "Unauthorized")  # ninja's AuthenticationError
        request.auth = token
        return ingest_batch(request)
    except TooManyFailures as error:
        return errors.too_many_failures(request, error)
    except (OperationalError, InterfaceError) as error:
        return errors.database_unavailable(request, error)


@router.post(
    "/ingest/validate",
    auth=ServiceTokenAuth(),
    response={200: ValidAnswer, 400: Error, 401: Error, 413: Error, 415: Error, 422: Error, 429: Error, 503: Error},
    openapi_extra=INGEST_BODY,
    summary="Check a batch without storing it",
)
def validate_batch(request: HttpRequest) -> HttpResponse:
    """The same checks as /ingest, nothing stored: for trying a client, and the benchmark's baseline."""
    if refused := refusal(request):
        return refused
    try:
        batch = parse(read_body(request))
    except IngestError as error:
        return error_response(error)
    return json_response(200, {"valid": True, "items": batch.counts()})
