"""Answers shared by every caller of the same query for a short while (see shared_answer)."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from functools import partial, wraps
from typing import Any, TypeVar

import orjson
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, QueryDict
from django.template.loader import render_to_string
from ninja import Field, Schema

from . import outages, projects
from .outages import CACHE_ERRORS
from .paging import Pagination

T = TypeVar("T")
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
MAX_AGE_LIMIT_S = 10
COMPUTED_AT_HELP = "when this answer was computed (epoch seconds)"
# However many pages ask, one shared answer is computed at most this often. Ingest runs in
# the same processes: recomputing for every live delta cost it about twice as much.
RECOMPUTE_EVERY_S = 1
# Pages compare a fragment's computed_at with their latest delta's sent_at, as with answers.
COMPUTED_AT_HEADER = "Computed-At"
# A shared answer is kept past its max_age, so callers arriving while it is being computed
# again get the last one (and its computed_at) instead of all computing it at once.
SHARED_KEPT_S = 60


class Sharing(Schema):
    """The query parameters of an operation whose answer may be shared (see shared)."""

    max_age: int = Field(0, ge=0, le=MAX_AGE_LIMIT_S, description=MAX_AGE_HELP)
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

    def serialized(now: float) -> bytes:
        return orjson.dumps(schema.model_validate({**compute(), "computed_at": now}).model_dump(mode="json"))

    _, body = shared_value(query_key(request), max_age, newer_than, serialized)
    return HttpResponse(body, content_type="application/json")


def shared_fragment(request: HttpRequest, template_name: str, context: Callable[[], dict]) -> HttpResponse:
    """A rendered page fragment, shared like shared_answer when the page asks with max_age.

    Rendered without the request: what is shared must not depend on who asks.
    """
    max_age, newer_than = freshness(request.GET)

    def render(now: float) -> str:
        return render_to_string(template_name, context())

    if not max_age:
        now = time.time()
        return fragment_response(render(now), now)
    computed_at, html = shared_value(query_key(request), max_age, newer_than, render)
    return fragment_response(html, computed_at)


def fragment_response(html: str, computed_at: float) -> HttpResponse:
    response = HttpResponse(html)
    response[COMPUTED_AT_HEADER] = repr(computed_at)
    return response


def shared_value(key: str, max_age: int, newer_than: float | None, compute: Callable[[float], T]) -> tuple[float, T]:
    """(computed_at, value) under key, computed again as shared_answer says; compute gets its time."""
    try:
        found = cache.get(key)
    except CACHE_ERRORS as error:
        outages.warn(log, "shared answers", f"read answers are computed for each caller: the cache is down ({error})")
        now = time.time()
        return now, compute(now)
    if found is None or (outdated(found[0], max_age, newer_than) and claim_recompute(key)):
        now = time.time()
        found = (now, compute(now))
        cache.set(key, found, timeout=SHARED_KEPT_S)
    return found


def query_key(request: HttpRequest) -> str:
    """One key per path, query and set of projects seen, whatever newer_than the caller passed:
    only callers who see the same projects share an answer."""
    query = sorted((name, value) for name, value in request.GET.items() if name != "newer_than")
    seen = projects.scope_key(getattr(request, "user", None))
    return "shared-answer:" + hashlib.sha256(f"{request.path}?{query}#{seen}".encode()).hexdigest()


def freshness(query: QueryDict) -> tuple[int, float | None]:
    """max_age and newer_than from a page's query string; a value that does not parse asks for a fresh answer."""
    try:
        max_age = min(MAX_AGE_LIMIT_S, max(0, int(query.get("max_age", 0))))
        newer_than = float(query["newer_than"]) if query.get("newer_than") else None
    except ValueError:
        return 0, None
    return max_age, newer_than


def outdated(computed_at: float, max_age: int, newer_than: float | None) -> bool:
    return time.time() - computed_at > max_age or (newer_than is not None and computed_at < newer_than)


def claim_recompute(key: str) -> bool:
    """True for one caller a second: the one that computes the answer again."""
    return cache.add(key + ":recompute", True, timeout=RECOMPUTE_EVERY_S)
