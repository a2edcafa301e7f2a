"""The functions' page fragments: what live pages ask for when the websocket says something changed.

Each returns one template, the same one the page includes when it is first rendered.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.urls import path

from . import top_errors, trends
from .auth import fragment_view
from .breaker_history import breaker_history
from .models import Function, Service
from .page_ranges import page_range
from .projects import get_visible_or_404
from .read import function_detail, function_row, functions_by_id
from .shared import shared_fragment
from .views import function_listing

# A delta names at most this many functions (resilience_site.live.MAX_ROWS); past it pages resync.
MAX_IDS = 100


@fragment_view
def function_table(request: HttpRequest) -> HttpResponse:
    """The functions table's rows for the page's filters, with its pager."""
    return shared_fragment(
        request, "monitoring/_functions_table.html", lambda: function_listing(request.GET, request.user)
    )


@fragment_view
def function_rows(request: HttpRequest) -> HttpResponse:
    """Rows of the functions a delta named (?ids=1,2,3), each swapped into the page where it is shown."""
    try:
        ids = [int(part) for part in request.GET.get("ids", "").split(",") if part]
    except ValueError:
        return HttpResponseBadRequest("ids: comma-separated function ids")
    if len(ids) > MAX_IDS:
        return HttpResponseBadRequest(f"ids: at most {MAX_IDS}")
    return render(request, "monitoring/_function_rows.html", {"rows": functions_by_id(ids, request.user)})


@fragment_view
def function_figures(request: HttpRequest, function_id: int) -> HttpResponse:
    """One function's cards: health, breaker fleet state, calls, p95 and its last outcomes."""
    return render(request, "monitoring/_function_figures.html", {"function": function_row(function_id, request.user)})


@fragment_view
def function_fleet(request: HttpRequest, function_id: int) -> HttpResponse:
    """One function's breaker per instance, breaker transitions and concurrency gauges."""
    return render(request, "monitoring/_function_fleet.html", {"function": function_detail(function_id, request.user)})


@fragment_view
def function_breakers(request: HttpRequest, function_id: int) -> HttpResponse:
    """One function's breaker state bands over the page's range, and its transitions a page at a time."""
    function = get_visible_or_404(Function, request.user, id=function_id)
    context = {"breakers": breaker_history(function.id, request.GET)}
    return render(request, "monitoring/_breaker_history.html", context)


@fragment_view
def function_errors(request: HttpRequest, function_id: int) -> HttpResponse:
    """One function's top error types over the page's range (?range=1h, 6h, 24h, 7d or 30d, or ?from=&to=)."""
    function = get_visible_or_404(Function, request.user, id=function_id)
    context = top_errors.table(function.id, page_range(request.GET))
    return render(request, "monitoring/_function_errors.html", context)


def trend_cards(request: HttpRequest, scope: trends.Scope, default: str) -> HttpResponse:
    """Trend cards over the range the page's URL names (from/to too), shared as the page asks."""
    shown = page_range(request.GET, default=default)

    def context() -> dict:
        return trends.cards(trends.trend(scope, shown.window()), shown.label.lower())

    return shared_fragment(request, "monitoring/_trend_cards.html", context)


@fragment_view
def function_trend(request: HttpRequest, function_id: int) -> HttpResponse:
    """A function's trend cards, again when its service reports (every 30 s at most)."""
    function = get_visible_or_404(Function, request.user, id=function_id)
    return trend_cards(request, trends.Scope(function_id=function.id), "1h")


@fragment_view
def service_trend(request: HttpRequest, service_id: int) -> HttpResponse:
    """A service's trend cards, again when it reports (every 30 s at most)."""
    service = get_visible_or_404(Service, request.user, id=service_id)
    return trend_cards(request, trends.Scope(service_id=service.id), "24h")


urlpatterns = [
    path("functions/<int:function_id>/trend", function_trend, name="fragment-function-trend"),
    path("services/<int:service_id>/trend", service_trend, name="fragment-service-trend"),
    path("functions/table", function_table, name="fragment-functions"),
    path("functions/rows", function_rows, name="fragment-function-rows"),
    path("functions/<int:function_id>/figures", function_figures, name="fragment-function-figures"),
    path("functions/<int:function_id>/fleet", function_fleet, name="fragment-function-fleet"),
    path("functions/<int:function_id>/breakers", function_breakers, name="fragment-function-breakers"),
    path("functions/<int:function_id>/errors", function_errors, name="fragment-function-errors"),
]
