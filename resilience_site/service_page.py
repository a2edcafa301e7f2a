"""One service for every role: its trend over a range against a week earlier, a chart, its
functions, breakers not closed, queues and alerts. It composes the apps, so it lives here;
the admin's configuration of the service is monitoring/service_pages.py (…/settings/)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect

from alerts import inhibition
from alerts.models import OPEN_STATES, Alert, AlertState, Severity
from alerts.read import UNSEEN_INHIBITOR, unseen_inhibitors
from monitoring import trends
from monitoring.health import stale_before
from monitoring.models import Breaker, BreakerState, Service
from monitoring.page_ranges import CHART_RANGES, PageRange, page_range
from monitoring.projects import User, get_visible_or_404, scoped
from monitoring.views import function_listing, page
from queues.read import find_queues

DEFAULT_RANGE = "24h"
SHOWN = 50  # breakers, queues and open alerts listed before "and N more"
RESOLVED_SHOWN = 10


def functions_of(service: Service, query: QueryDict, shown: PageRange, user: User | None) -> dict:
    """The functions table filtered to the service, paged as on the functions page (the range kept)."""
    asked = QueryDict(mutable=True)
    asked["service"] = service.name
    if query.get("offset"):
        asked["offset"] = query["offset"]
    listing = function_listing(asked, user)
    pager = listing["pager"]
    for link in ("previous", "next"):
        if pager[link]:
            pager[link] += f"&{shown.query}"
    return {**listing, "table_query": asked.urlencode()}


def breakers_not_closed(service: Service) -> list[Breaker]:
    """Its instances' breakers open or half-open, of instances still reporting, longest first."""
    breakers = Breaker.objects.select_related("function").filter(function__service=service, updated__gte=stale_before())
    return list(breakers.exclude(state=BreakerState.CLOSED).order_by("since", "id")[: SHOWN + 1])


def alerts_of(service: Service, user: User | None) -> dict:
    alerts = Alert.objects.select_related("rule", "inhibited_by__rule").filter(service=service.name)
    open_ = list(alerts.filter(state__in=OPEN_STATES).order_by("-started_at", "-id")[: SHOWN + 1])
    # An inhibitor of another project (a dependency on its service) is not named.
    for alert in unseen_inhibitors(open_, user):
        if alert.inhibited_by is None:
            alert.inhibition = ""
        elif alert.inhibitor_unseen:
            alert.inhibition = UNSEEN_INHIBITOR
        else:
            alert.inhibition = inhibition.reason(alert, alert.inhibited_by)
    resolved = alerts.filter(state=AlertState.RESOLVED).order_by("-resolved_at", "-id")[:RESOLVED_SHOWN]
    return {"open_alerts": open_, "resolved_alerts": list(resolved)}


def dependencies_of(service: Service, user: User | None) -> dict:
    """The services it depends on, each with its oldest open critical alert (which inhibits
    this service's alerts), and the services that depend on it: those the person may see."""
    needs = list(scoped(service.depends_on.order_by("name"), user))
    critical = Alert.objects.select_related("rule").filter(
        state__in=OPEN_STATES, severity=Severity.CRITICAL, service__in=[other.name for other in needs]
    )
    first: dict[str, Alert] = {}
    for alert in critical.order_by("started_at", "id"):
        first.setdefault(alert.service, alert)
    return {
        "depends_on": [{"service": other, "critical": first.get(other.name)} for other in needs],
        "dependents": list(scoped(service.dependents.order_by("name"), user)),
    }


@login_required
def service(request: HttpRequest, service_id: int) -> HttpResponse:
    found = get_visible_or_404(Service, request.user, id=service_id)
    shown = page_range(request.GET, default=DEFAULT_RANGE)
    trend = trends.trend(trends.Scope(service_id=found.id), shown.window())
    queues = find_queues(request.user, found.name)
    context = {
        "service": found,
        "ranges": CHART_RANGES,
        "range": shown,
        **trends.cards(trend, shown.label.lower()),
        **functions_of(found, request.GET, shown, request.user),
        "breakers": breakers_not_closed(found),
        "queues": queues[:SHOWN],
        "queue_count": len(queues),
        **alerts_of(found, request.user),
        **dependencies_of(found, request.user),
        "shown": SHOWN,
    }
    response = page(request, "monitoring/service.html", "services", **context)
    if shown.error:
        response.status_code = 422  # the page still shows, with the message beside the ranges
    return response


@login_required
def service_named(request: HttpRequest, name: str) -> HttpResponse:
    """/services/named/<name>/: where tables that know a service by name link to."""
    return redirect("service", get_visible_or_404(Service, request.user, name=name).id)
