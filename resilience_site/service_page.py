"""One service for every role: its trend over a range against a week earlier, a chart, its
functions, breakers not closed, queues and alerts. It composes the apps, so it lives here;
the admin's configuration of the service is monitoring/service_pages.py (…/settings/)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect

from alerts.models import OPEN_STATES, Alert, AlertState
from monitoring import ranges, trends
from monitoring.health import stale_before
from monitoring.models import Breaker, BreakerState, Service
from monitoring.views import function_listing, page
from queues.read import find_queues

from .views import CHART_RANGES, chart_range

DEFAULT_RANGE = "24h"
SHOWN = 50  # breakers, queues and open alerts listed before "and N more"
RESOLVED_SHOWN = 10


def service_range(query: QueryDict) -> dict:
    """The range the page's URL names, 24 hours when it names none it knows."""
    name, label, every_ms = chart_range(query, default=DEFAULT_RANGE)
    return {"name": name, "label": label, "every_ms": every_ms}


def functions_of(service: Service, query: QueryDict, range_name: str) -> dict:
    """The functions table filtered to the service, paged as on the functions page (the range kept)."""
    asked = QueryDict(mutable=True)
    asked["service"] = service.name
    if query.get("offset"):
        asked["offset"] = query["offset"]
    listing = function_listing(asked)
    pager = listing["pager"]
    for link in ("previous", "next"):
        if pager[link]:
            pager[link] += f"&range={range_name}"
    return {**listing, "table_query": asked.urlencode()}


def breakers_not_closed(service: Service) -> list[Breaker]:
    """Its instances' breakers open or half-open, of instances still reporting, longest first."""
    breakers = Breaker.objects.select_related("function").filter(function__service=service, updated__gte=stale_before())
    return list(breakers.exclude(state=BreakerState.CLOSED).order_by("since", "id")[: SHOWN + 1])


def alerts_of(service: Service) -> dict:
    alerts = Alert.objects.select_related("rule").filter(service=service.name)
    open_ = list(alerts.filter(state__in=OPEN_STATES).order_by("-started_at", "-id")[: SHOWN + 1])
    resolved = alerts.filter(state=AlertState.RESOLVED).order_by("-resolved_at", "-id")[:RESOLVED_SHOWN]
    return {"open_alerts": open_, "resolved_alerts": list(resolved)}


@login_required
def service(request: HttpRequest, service_id: int) -> HttpResponse:
    found = get_object_or_404(Service, id=service_id)
    range_ = service_range(request.GET)
    trend = trends.trend(trends.Scope(service_id=found.id), ranges.window(range_["name"]))
    queues = find_queues(found.name)
    context = {
        "service": found,
        "ranges": CHART_RANGES,
        "range": range_,
        **trends.cards(trend, range_["label"].lower()),
        **functions_of(found, request.GET, range_["name"]),
        "breakers": breakers_not_closed(found),
        "queues": queues[:SHOWN],
        "queue_count": len(queues),
        **alerts_of(found),
        "shown": SHOWN,
    }
    return page(request, "monitoring/service.html", "services", **context)


@login_required
def service_named(request: HttpRequest, name: str) -> HttpResponse:
    """/services/named/<name>/: where tables that know a service by name link to."""
    return redirect("service", get_object_or_404(Service, name=name).id)
