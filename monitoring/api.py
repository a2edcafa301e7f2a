from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable

import orjson
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema, Status
from pydantic import Field

from . import live, outages, overview
from . import status as monitor_status
from .auth import ServiceTokenAuth, seconds_over_rate, user_auth
from .health import WINDOW_MINUTES, breaker_summaries, health, recent_figures
from .ingest import IngestError, TooLarge, ingest, parse
from .models import Function, Refusal
from .outages import CACHE_ERRORS
from .outcomes import recent_outcomes
from .overview import SORT_PATTERN, sort_rows
from .schemas import Error, FunctionDetail, FunctionOut, FunctionPage, IngestAnswer, Series, StatusOut, ValidAnswer
from .series import minute_series
from .services import ServiceOut, service_rows

router = Router(tags=["monitoring"])
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
    return json_response(error.status, error.answer())


def read_body(request: HttpRequest) -> bytes:
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    limit = settings.MONITOR_MAX_BODY_BYTES
    if declared > limit:
        raise TooLarge(f"body is {declared} bytes; the limit is {limit}")
    try:
        return request.body
    except RequestDataTooBig:
        raise TooLarge(f"body is over the limit of {limit} bytes") from None


def refusal(request: HttpRequest) -> HttpResponse | None:
    """The answer for a token over its rate or a body that is not JSON; None when neither."""
    token = request.auth
    retry_after = seconds_over_rate(token)
    if retry_after:
        detail = f"over {token.rate_limit()} requests a minute for this token"
        return json_response(429, {"detail": detail, "field": ""}, Retry_After=str(retry_after))
    if request.content_type != "application/json":
        return json_response(415, {"detail": "Content-Type must be application/json", "field": ""})
    return None


def counted(request: HttpRequest, reason: str, response: HttpResponse) -> HttpResponse:
    """The refusal, counted for the token's service (shown on its pages and in /services)."""
    Refusal.note(request.auth.service_id, reason)
    return response


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


@router.post(
    "/ingest/validate",
    auth=ServiceTokenAuth(),
    response={200: ValidAnswer, 400: Error, 401: Error, 413: Error, 415: Error, 422: Error, 429: Error},
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


MAX_AGE_HELP = (
    "seconds an answer shared with other callers of the same query may be old (0: fresh); "
    "while another request computes a newer one, the last one comes back: see its computed_at"
)
NEWER_THAN_HELP = (
    "with max_age: an answer computed after this time (epoch seconds), e.g. a live delta's sent_at; "
    "while another caller's request is computing it, or within a second of the last computation, "
    "the shared answer comes back as it is: compare its computed_at and ask again"
)
# However many pages ask, one shared answer is computed at most this often. Ingest runs in
# the same processes: recomputing for every live delta cost it about twice as much.
RECOMPUTE_EVERY_S = 1
# A shared answer is kept past its max_age, so callers arriving while it is being computed
# again get the last one (and its computed_at) instead of all computing it at once.
SHARED_KEPT_S = 60


def shared_answer(
    request: HttpRequest, max_age: int, newer_than: float | None, compute: Callable[[], dict], schema: type[Schema]
) -> dict | HttpResponse:
    """One answer per query for up to max_age seconds, shared by every caller that allows it.

    Open dashboards re-fetch the same pages after each live delta, all at the same moment;
    sharing the serialized answer makes their cost to the database (and to the CPU)
    independent of how many are open. A page passes the delta's sent_at as newer_than and
    gets an answer computed since, unless one was computed less than RECOMPUTE_EVERY_S ago
    or another request is computing one now: then it gets the last one, sees from its
    computed_at that the change it was told about may be missing, and asks again a little
    later.
    """
    if not max_age:
        return {**compute(), "computed_at": time.time()}
    query = sorted((name, value) for name, value in request.GET.items() if name != "newer_than")
    key = "shared-answer:" + hashlib.sha256(f"{request.path}?{query}".encode()).hexdigest()
    try:
        shared = cache.get(key)
    except CACHE_ERRORS as error:
        outages.warn(log, "shared answers", f"read answers are computed for each caller: the cache is down ({error})")
        return {**compute(), "computed_at": time.time()}
    if shared is None or (outdated(shared[0], max_age, newer_than) and claim_recompute(key)):
        now = time.time()
        answer = {**compute(), "computed_at": now}
        shared = (now, orjson.dumps(schema.model_validate(answer).model_dump(mode="json")))
        cache.set(key, shared, timeout=SHARED_KEPT_S)
    return HttpResponse(shared[1], content_type="application/json")


def outdated(computed_at: float, max_age: int, newer_than: float | None) -> bool:
    return time.time() - computed_at > max_age or (newer_than is not None and computed_at < newer_than)


def claim_recompute(key: str) -> bool:
    """True for one caller a second: the one that computes the answer again."""
    return cache.add(key + ":recompute", True, timeout=RECOMPUTE_EVERY_S)


class FunctionFilters(Schema):
    service: str | None = None
    q: str | None = Field(None, description="part of the function name")
    health: str | None = Field(None, pattern="^(healthy|degraded|unhealthy|unknown)$")
    breaker: str | None = Field(None, pattern="^(open|half_open|closed)$", description="the fleet state")
    sort: str | None = Field(None, pattern=SORT_PATTERN, description='a column; "-" first sorts descending')
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0)
    max_age: int = Field(0, ge=0, le=10, description=MAX_AGE_HELP)
    newer_than: float | None = Field(None, description=NEWER_THAN_HELP)

    def by_figures(self) -> bool:
        """Filters and sorts on figures are applied in Python, over every matching function."""
        return bool(self.health or self.breaker or self.sort)


def function_out(function: Function, figures, breaker, outcomes: list[str]) -> dict:  # noqa: ANN001
    return {
        "id": function.id,
        "service": function.service.name,
        "name": function.name,
        "health": health(figures, breaker),
        "breaker": breaker.as_dict(),
        "calls_5m": figures.calls,
        "error_rate_5m": figures.error_rate,
        "p95_ms_5m": figures.p(0.95),
        "last_seen": function.last_seen,
        "recent_outcomes": outcomes,
    }


def functions_out(functions: list[Function]) -> list[dict]:
    ids = [function.id for function in functions]
    figures = recent_figures(ids, WINDOW_MINUTES)
    breakers = breaker_summaries(ids)
    outcomes = recent_outcomes(ids)
    return [function_out(f, figures[f.id], breakers[f.id], outcomes.get(f.id, [])) for f in functions]


@router.get("/functions", auth=user_auth, response=FunctionPage)
def list_functions(request: HttpRequest, filters: Query[FunctionFilters]) -> dict:
    return shared_answer(request, filters.max_age, filters.newer_than, lambda: find_functions(filters), FunctionPage)


def find_functions(filters: FunctionFilters) -> dict:
    functions = Function.objects.select_related("service")
    if filters.service:
        functions = functions.filter(service__name=filters.service)
    if filters.q:
        functions = functions.filter(Q(name__icontains=filters.q))
    if filters.by_figures():
        rows = functions_out(list(functions))
        rows = [
            row
            for row in rows
            if filters.health in (None, row["health"]) and filters.breaker in (None, row["breaker"]["state"])
        ]
        rows = sort_rows(rows, filters.sort or "service")
        return {"items": rows[filters.offset : filters.offset + filters.limit], "count": len(rows)}
    page = list(functions[filters.offset : filters.offset + filters.limit])
    return {"items": functions_out(page), "count": functions.count()}


class QueueGrowing(Schema):
    id: int
    service: str
    name: str
    growth: int


class Overview(Schema):
    functions: int
    calls_5m: int
    success_rate_5m: float | None
    calls_1h: int
    success_rate_1h: float | None
    p95_ms_5m: float | None
    open_breakers: int
    queues_backing_up: list[QueueGrowing]
    firing_alerts: int
    trouble: list[FunctionOut]
    computed_at: float = Field(description="when this answer was computed (epoch seconds)")


@router.get("/overview", auth=user_auth, response=Overview)
def get_overview(
    request: HttpRequest,
    max_age: int = Query(0, ge=0, le=10, description=MAX_AGE_HELP),
    newer_than: float | None = Query(None, description=NEWER_THAN_HELP),
) -> dict:
    return shared_answer(request, max_age, newer_than, overview_figures, Overview)


def overview_figures() -> dict:
    rows = functions_out(list(Function.objects.select_related("service")))
    trouble = [row for row in sort_rows(rows, "trouble") if row["health"] in ("unhealthy", "degraded")]
    return {**overview.figures(), "functions": len(rows), "trouble": trouble[:10]}


@router.get("/services", auth=user_auth, response=list[ServiceOut])
def list_services(request: HttpRequest) -> list[dict]:
    return service_rows()


@router.get("/functions/{function_id}", auth=user_auth, response={200: FunctionDetail, 404: Error})
def get_function(request: HttpRequest, function_id: int) -> dict:
    function = get_object_or_404(Function.objects.select_related("service"), id=function_id)
    out = functions_out([function])[0]
    out["breaker_instances"] = list(
        function.breakers.order_by("instance").values("instance", "state", "since", "updated")
    )
    out["breaker_flips"] = list(function.breaker_flips.order_by("-at")[:100])
    out["concurrency"] = list(function.concurrency.order_by("instance"))
    return out


@router.get("/functions/{function_id}/series", auth=user_auth, response={200: Series, 404: Error})
def function_series(request: HttpRequest, function_id: int, minutes: int = Query(60, ge=1, le=1440)) -> dict:
    function = get_object_or_404(Function, id=function_id)
    return {"minutes": minutes, "points": minute_series(function, minutes)}


@router.get("/status", auth=None, response={200: StatusOut, 503: StatusOut})
def get_status(request: HttpRequest) -> Status:
    parts = monitor_status.check()
    return Status(200 if parts["database"]["ok"] else 503, parts)
