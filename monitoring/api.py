"""The functions API: list, detail, series; the services' own is in service_api.py."""

# No `from __future__ import annotations`: ninja resolves the annotations of a decorated
# view (@paginate, @shared) in the decorator's module, where these names are unknown.

from datetime import datetime

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router
from ninja.errors import ValidationError
from ninja.pagination import paginate

from . import breakers_read, ranges
from .auth import user_auth
from .breakers_read import BreakerHistory
from .inputs import Text
from .models import Function
from .paging import MAX_LIMIT, MAX_OFFSET, Rows
from .projects import get_visible_or_404
from .ranges import RANGE_PATTERN, Window
from .read import FunctionFilters, find_functions, function_detail
from .schemas import FunctionDetail, FunctionOut, FunctionPage, Series, errors
from .series import series
from .service_api import router as service_router
from .shared import SharedPagination, Sharing, shared
from .top_errors import TOP, ErrorsOut, top_errors

router = Router(tags=["monitoring"])
router.add_router("", service_router)


@router.get("/functions", auth=user_auth, response={200: list[FunctionOut], **errors(401, 422, 503)})
@shared(FunctionPage)
@paginate(SharedPagination)
def list_functions(request: HttpRequest, filters: Query[FunctionFilters], sharing: Query[Sharing]) -> Rows | list:
    return find_functions(filters, request.user)


@router.get("/functions/{function_id}", auth=user_auth, response={200: FunctionDetail, **errors(401, 404, 422, 503)})
def get_function(request: HttpRequest, function_id: int) -> dict:
    return function_detail(function_id, request.user)


RANGE_HELP = "1h, 6h, 24h, 7d or 30d, ending now"
FROM_HELP = "ISO 8601 with an offset, e.g. 2026-11-22T10:00:00Z; with `to` (default now) instead of range"


@router.get(
    "/functions/{function_id}/series",
    auth=user_auth,
    response={200: Series, **errors(401, 404, 422, 503)},
    by_alias=True,  # "from" and "to", as the document and the query name them
)
def function_series(
    request: HttpRequest,
    function_id: int,
    minutes: int = Query(60, ge=1, le=1440, description="the last so many minutes (when no range is given)"),
    range_: str | None = Query(None, alias="range", pattern=RANGE_PATTERN, description=RANGE_HELP),
    start: datetime | None = Query(None, alias="from", description=FROM_HELP),
    end: datetime | None = Query(None, alias="to", description="ISO 8601 with an offset"),
) -> dict:
    function = get_visible_or_404(Function, request.user, id=function_id)
    return series_out(function, requested_window(range_, start, end, minutes))


@router.get(
    "/functions/{function_id}/errors",
    auth=user_auth,
    response={200: ErrorsOut, **errors(401, 404, 422, 503)},
    by_alias=True,  # "from" and "to", as the query names them
)
def function_errors(
    request: HttpRequest,
    function_id: int,
    range_: str | None = Query(None, alias="range", pattern=RANGE_PATTERN, description=RANGE_HELP + " (default 1h)"),
    start: datetime | None = Query(None, alias="from", description=FROM_HELP),
    end: datetime | None = Query(None, alias="to", description="ISO 8601 with an offset"),
    top: int = Query(TOP, ge=1, le=100, description="how many types to list; the rest are counted as other"),
) -> dict:
    """The function's errors by type over the range (aligned as the series' is), most frequent first."""
    function = get_visible_or_404(Function, request.user, id=function_id)
    window = requested_window(range_ or "1h", start, end, 60)
    return top_errors(function, window, top)


def requested_window(range_: str | None, start: datetime | None, end: datetime | None, minutes: int) -> Window:
    try:
        return ranges.window(range_, start, end, minutes)
    except ranges.BadRange as error:
        # Answered like any other bad query parameter, naming it.
        raise ValidationError([{"loc": ("query", error.field), "msg": error.message, "type": "value_error"}]) from None


def series_out(function: Function, window: Window) -> dict:
    return series_answer(window, *series(function, window))


def series_answer(window: Window, points: list[dict], whole: dict) -> dict:
    """A series as the API answers it (a function's, a service's): its window, step and points."""
    return {
        "minutes": int((window.end - window.start).total_seconds() // 60),
        "from": window.start,
        "to": window.end,
        "step_s": int(window.step.total_seconds()),
        "points": points,
        "totals": whole,
    }


@router.get(
    "/functions/{function_id}/breakers",
    auth=user_auth,
    response={200: BreakerHistory, **errors(401, 404, 422, 503)},
    by_alias=True,  # "from" and "to", as the query names them
)
def function_breakers(
    request: HttpRequest,
    function_id: int,
    range_: str | None = Query(None, alias="range", pattern=RANGE_PATTERN, description=RANGE_HELP + " (default 1h)"),
    start: datetime | None = Query(None, alias="from", description=FROM_HELP),
    end: datetime | None = Query(None, alias="to", description="ISO 8601 with an offset; at most now"),
    instance: Text | None = Query(None, max_length=200, description="only this instance"),
    limit: int = Query(100, ge=1, le=MAX_LIMIT, description="instances a page"),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict:
    """Per instance, the breaker's states over the range, rebuilt from its transitions (see docs/api.md)."""
    function = get_visible_or_404(Function, request.user, id=function_id)
    try:
        start, end = breakers_read.span(range_, start, end, timezone.now())
    except ranges.BadRange as error:
        raise ValidationError([{"loc": ("query", error.field), "msg": error.message, "type": "value_error"}]) from None
    return breakers_read.history_out(function.id, start, end, instance, offset, limit)
