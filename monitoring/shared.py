"""Answers shared by every caller of the same query for a short while (see shared_answer)."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from functools import partial, wraps
from typing import Any

import orjson
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from ninja import Field, Schema

from . import outages
from .outages import CACHE_ERRORS
from .paging import Pagination

log = logging.getLogger(__name__)

MAX_AGE_HELP = (
    "seconds an answer shared with other callers of the same query may be old (0: fresh); "
    "while another request computes a newer one, the last one comes back: see its computed_at"
)
NEWER_THAN_HELP = (
    "with max_age: an answer computed after this time (epoch seconds), e.g. a live delta's sent_at; "
    "while another caller's request is computing it, or within a second of the last computation, "
    "the shared answer comes back as it is: compare its computed_at and ask again"
)
COMPUTED_AT_HELP = "when this answer was computed (epoch seconds)"
# However many pages ask, one shared answer is computed at most this often. Ingest runs in
# the same processes: recomputing for every live delta cost it about twice as much.
RECOMPUTE_EVERY_S = 1
# A shared answer is kept past its max_age, so callers arriving while it is being computed
# again get the last one (and its computed_at) instead of all computing it at once.
SHARED_KEPT_S = 60


class Sharing(Schema):
    """The query parameters of an operation whose answer may be shared (see shared)."""

    max_age: int = Field(0, ge=0, le=10, description=MAX_AGE_HELP)
    newer_than: float | None = Field(None, allow_inf_nan=False, description=NEWER_THAN_HELP)


class SharedPagination(Pagination):
    """Pages of a shared answer: {"items", "count", "computed_at"}."""

    class Output(Schema):
        items: list[Any]
        count: int
        computed_at: float = Field(description=COMPUTED_AT_HELP)


def shared(schema: type[Schema]) -> Callable:
    """Share the answer of an operation that takes `sharing: Query[Sharing]` (see shared_answer);
    schema validates the answer once, when it is computed. Put it above @paginate: a page is
    shared whole."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def sharing_view(request: HttpRequest, **params: object) -> dict | HttpResponse:
            sharing = params["sharing"]
            compute = partial(view, request, **params)
            return shared_answer(request, sharing.max_age, sharing.newer_than, compute, schema)

        return sharing_view

    return decorate


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
