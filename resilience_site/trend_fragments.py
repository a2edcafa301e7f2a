"""The overview's fleet trend: every function over a range against a week earlier, a
fragment of its own so the overview's figures never wait for it."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from monitoring import ranges, trends
from monitoring.auth import fragment_view
from monitoring.projects import User
from monitoring.shared import shared_fragment

from .views import CHART_RANGES, chart_range


def fleet_trend_context(range_name: str, label: str, user: User | None) -> dict:
    """The fleet the person sees (their projects'), over the range and a week earlier."""
    trend = trends.trend(trends.fleet_of(user), ranges.window(range_name))
    return {"ranges": CHART_RANGES, "fleet_range": range_name, **trends.cards(trend, label.lower())}


@fragment_view
def fleet_trend(request: HttpRequest) -> HttpResponse:
    """?range= one of 1h..30d (24 hours unless), as the overview's URL names it."""
    name, label, _ = chart_range(request.GET, default="24h")
    return shared_fragment(
        request, "monitoring/_fleet_trend.html", lambda: fleet_trend_context(name, label, request.user)
    )


urlpatterns = [path("overview/trend", fleet_trend, name="fragment-fleet-trend")]
