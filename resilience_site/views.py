"""Pages that compose the apps: the overview, and a function with its alerts."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict

from alerts.models import Alert
from monitoring import ranges, top_errors, trends
from monitoring.breaker_history import breaker_history
from monitoring.models import Function
from monitoring.read import function_detail
from monitoring.views import first_steps, page

from .overview import overview_figures


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    figures = overview_figures()
    return page(request, "monitoring/overview.html", "overview", figures=figures, **first_steps())


# The chart's ranges, what they read as, and how often an open page re-reads its series.
CHART_RANGES = [
    ("1h", "Last hour", 2_000),
    ("6h", "6 hours", 10_000),
    ("24h", "24 hours", 30_000),
    ("7d", "7 days", 60_000),
    ("30d", "30 days", 300_000),
]


def chart_range(query: QueryDict, default: str = "1h") -> tuple[str, str, int]:
    """The range the page's URL names (shareable), the default when it names none it knows."""
    asked = query.get("range") or default
    return next((r for r in CHART_RANGES if r[0] == asked), next(r for r in CHART_RANGES if r[0] == default))


@login_required
def function(request: HttpRequest, function_id: int) -> HttpResponse:
    detail = function_detail(function_id)
    service_id = Function.objects.filter(id=function_id).values_list("service_id", flat=True).get()
    name, label, every_ms = chart_range(request.GET)
    context = {
        "function": detail,
        "service_id": service_id,
        "alerts": alerts_on(detail),
        "ranges": CHART_RANGES,
        "range": {"name": name, "label": label, "every_ms": every_ms},
        **trends.cards(trends.trend(trends.Scope(function_id=function_id), ranges.window(name)), label.lower()),
        "breakers": breaker_history(function_id, request.GET),
        **top_errors.table(function_id, name),
    }
    return page(request, "monitoring/function.html", "functions", **context)


def alerts_on(function: dict) -> list[Alert]:
    """The alerts whose subject is this function, newest first."""
    alerts = Alert.objects.select_related("rule").filter(service=function["service"], subject=function["name"])
    return list(alerts.order_by("-started_at")[:50])
