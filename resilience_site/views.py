"""Pages that compose the apps: the overview, and a function with its alerts."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict

from alerts.models import Alert
from monitoring import top_errors, trends
from monitoring.breaker_history import breaker_history
from monitoring.models import Function
from monitoring.page_ranges import CHART_RANGES, page_range
from monitoring.read import function_detail
from monitoring.views import first_steps, page

from .overview import overview_figures, project_summaries


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    figures = overview_figures(request.user)
    summaries = project_summaries(request.user)
    context = {"figures": figures, "project_summaries": summaries, **first_steps(request.user)}
    return page(request, "monitoring/overview.html", "overview", **context)


def chart_range(query: QueryDict, default: str = "1h") -> tuple[str, str, int]:
    """The named range the page's URL names (shareable), the default when it names none it
    knows. Pages that take a custom from/to too read monitoring.page_ranges.page_range."""
    asked = query.get("range") or default
    return next((r for r in CHART_RANGES if r[0] == asked), next(r for r in CHART_RANGES if r[0] == default))


@login_required
def function(request: HttpRequest, function_id: int) -> HttpResponse:
    detail = function_detail(function_id, request.user)
    service_id = Function.objects.filter(id=function_id).values_list("service_id", flat=True).get()
    shown = page_range(request.GET)
    context = {
        "function": detail,
        "service_id": service_id,
        "alerts": alerts_on(detail),
        "ranges": CHART_RANGES,
        "range": shown,
        **trends.cards(trends.trend(trends.Scope(function_id=function_id), shown.window()), shown.label.lower()),
        "breakers": breaker_history(function_id, request.GET),
        **top_errors.table(function_id, shown),
    }
    response = page(request, "monitoring/function.html", "functions", **context)
    if shown.error:
        response.status_code = 422  # the page still shows, with the message beside the ranges
    return response


def alerts_on(function: dict) -> list[Alert]:
    """The alerts whose subject is this function, newest first."""
    alerts = Alert.objects.select_related("rule").filter(service=function["service"], subject=function["name"])
    return list(alerts.order_by("-started_at")[:50])
