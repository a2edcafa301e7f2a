"""The trends API: a function's, a service's and the fleet's figures over a range compared
with the same range a week earlier, and a service's series summed over its functions."""

# No `from __future__ import annotations`: ninja reads the annotations at import.

from datetime import datetime

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from . import trends
from .api import FROM_HELP, RANGE_HELP, requested_window, series_answer
from .auth import user_auth
from .models import Function, Service
from .projects import get_visible_or_404
from .ranges import RANGE_PATTERN, Window
from .schemas import Series, errors

router = Router(tags=["trends"])
TREND_RANGE_HELP = RANGE_HELP + " (default 24h)"


class TrendFigures(Schema):
    start: datetime = Field(alias="from", description="the range's start, aligned to its step")
    end: datetime = Field(alias="to", description="the range's end (exclusive)")
    step_s: int = Field(description="seconds per step: availability counts steps of this length")
    calls: int
    errors: int = Field(description="failures, timeouts and rejections")
    error_rate: float | None = Field(description="errors / calls; null without calls")
    p95_ms: float | None = Field(description="from the range's merged latency histograms, within 5 %")
    availability: float | None = Field(
        description="the share of steps with calls whose error rate stayed under "
        "MONITOR_HEALTH_DEGRADED_ERROR_RATE; null without calls"
    )
    steps_with_calls: int


class TrendChange(Schema):
    calls: float | None = Field(description="relative: 0.12 is 12 % more calls than a week ago")
    error_rate: float | None = Field(description="the difference of the two error rates (0.01: one point more)")
    p95_ms: float | None = Field(description="relative: -0.2 is a p95 20 % lower than a week ago")
    availability: float | None = Field(description="the difference of the two availabilities")


class Trend(TrendFigures):
    week_ago: TrendFigures = Field(description="the same range 7 days earlier")
    change: TrendChange = Field(description="now compared with a week ago; null where either has no figure")


def trend_window(range_: str | None, start: datetime | None, end: datetime | None) -> Window:
    return requested_window(range_ or ("24h" if start is None and end is None else None), start, end, 60)


# by_alias: "from" and "to", as the query names them.
TREND = {"auth": user_auth, "response": {200: Trend, **errors(401, 404, 422, 503)}, "by_alias": True}


@router.get("/trend", **{**TREND, "response": {200: Trend, **errors(401, 422, 503)}})
def fleet_trend(
    request: HttpRequest,
    range_: str | None = Query(None, alias="range", pattern=RANGE_PATTERN, description=TREND_RANGE_HELP),
    start: datetime | None = Query(None, alias="from", description=FROM_HELP),
    end: datetime | None = Query(None, alias="to", description="ISO 8601 with an offset"),
) -> dict:
    """Every function's calls added up (of the projects the caller may see): the fleet over the
    range, and a week earlier."""
    return trends.trend(trends.fleet_of(request.user), trend_window(range_, start, end))


@router.get("/functions/{function_id}/trend", **TREND)
def function_trend(
    request: HttpRequest,
    function_id: int,
    range_: str | None = Query(None, alias="range", pattern=RANGE_PATTERN, description=TREND_RANGE_HELP),
    start: datetime | None = Query(None, alias="from", description=FROM_HELP),
    end: datetime | None = Query(None, alias="to", description="ISO 8601 with an offset"),
) -> dict:
    """The function over the range, and a week earlier."""
    function = get_visible_or_404(Function, request.user, id=function_id)
    return trends.trend(trends.Scope(function_id=function.id), trend_window(range_, start, end))


@router.get("/services/{service_id}/trend", **TREND)
def service_trend(
    request: HttpRequest,
    service_id: int,
    range_: str | None = Query(None, alias="range", pattern=RANGE_PATTERN, description=TREND_RANGE_HELP),
    start: datetime | None = Query(None, alias="from", description=FROM_HELP),
    end: datetime | None = Query(None, alias="to", description="ISO 8601 with an offset"),
) -> dict:
    """The service's functions added up over the range, and a week earlier."""
    service = get_visible_or_404(Service, request.user, id=service_id)
    return trends.trend(trends.Scope(service_id=service.id), trend_window(range_, start, end))


@router.get(
    "/services/{service_id}/series",
    auth=user_auth,
    response={200: Series, **errors(401, 404, 422, 503)},
    by_alias=True,
)
def service_series(
    request: HttpRequest,
    service_id: int,
    range_: str | None = Query(None, alias="range", pattern=RANGE_PATTERN, description=RANGE_HELP + " (default 1h)"),
    start: datetime | None = Query(None, alias="from", description=FROM_HELP),
    end: datetime | None = Query(None, alias="to", description="ISO 8601 with an offset"),
) -> dict:
    """The service's calls by outcome, error rate and percentiles per step, summed over its functions."""
    service = get_visible_or_404(Service, request.user, id=service_id)
    window = requested_window(range_ or ("1h" if start is None and end is None else None), start, end, 60)
    return series_answer(window, *trends.series(trends.Scope(service_id=service.id), window))
