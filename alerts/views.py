"""The alert pages: the list by state with filters and history, one alert with its
timeline and actions, and the dead-lettered deliveries. Actions post to the read-and-act
API from static/js/alert.js; these views only read (their live parts: alerts/fragments.py)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from pydantic import Field, ValidationError

from monitoring.paging import MAX_OFFSET
from monitoring.projects import may, project_names_by_service, project_of, project_roles, scoped
from monitoring.views import page

from . import read
from .models import Alert, Delivery

PAGE_SIZE = 100
DEAD_SHOWN = 50
STATES = ["firing", "acknowledged", "suppressed", "resolved"]
# The suppress duration picker: minutes and how they read.
SUPPRESS_CHOICES = [(15, "15 minutes"), (60, "1 hour"), (240, "4 hours"), (1440, "1 day"), (10080, "1 week")]
# "Remind me again after": the acknowledgement lapses then if the alert still fires.
REMIND_CHOICES = [(15, "15 minutes"), (60, "1 hour"), (240, "4 hours"), (1440, "1 day")]


class ListQuery(read.AlertFilters):
    """The list page's query string: the API's filters and where the page starts."""

    offset: int = Field(0, ge=0, le=MAX_OFFSET)


def alert_filters(request: HttpRequest) -> ListQuery:
    given = {name: request.GET[name] for name in ("state", "service", "offset") if request.GET.get(name)}
    try:
        return ListQuery(**given)
    except ValidationError:
        return ListQuery()


def with_query(filters: ListQuery, **changes: object) -> str:
    values = {"state": filters.state, "service": filters.service, "offset": filters.offset} | changes
    return "?" + urlencode({name: value for name, value in values.items() if value})


def alert_listing(request: HttpRequest) -> dict:
    """The alerts table for the request's filters: its rows and pager (page and fragment)."""
    filters = alert_filters(request)
    found = read.find_alerts(request.user, filters.state, filters.service)
    items = found[filters.offset : filters.offset + PAGE_SIZE]
    # A Project column for a person in several projects (the fragment is rendered without the
    # request, so the listing says so itself; it is shared by those who see the same projects).
    project_column = len(project_roles(request.user)) > 1
    if project_column:
        names = project_names_by_service({item["service"] for item in items if item["service"]})
        items = [item | {"project_name": names.get(item["service"], "")} for item in items]
    count = len(found)
    end = filters.offset + len(items)
    pager = {
        "count": count,
        "previous": with_query(filters, offset=max(0, filters.offset - PAGE_SIZE)) if filters.offset else None,
        "next": with_query(filters, offset=end) if end < count else None,
    }
    return {"alerts": items, "filters": filters, "pager": pager, "project_column": project_column}


@login_required
def alerts(request: HttpRequest) -> HttpResponse:
    listing = alert_listing(request)
    tabs = [{"state": s, "url": with_query(listing["filters"], state=s, offset=0)} for s in [None, *STATES]]
    dead_letters = read.find_deliveries(request.user, "dead")
    shown = dead_letters[:DEAD_SHOWN]
    # Retry needs a responder in the delivery's project (its alert's service's).
    mine = scoped(Delivery.objects.filter(id__in=[d["id"] for d in shown]), request.user, at_least="responder")
    retryable = set(mine.values_list("id", flat=True))
    shown = [{**d, "can_retry": d["id"] in retryable} for d in shown]
    dead = {"items": shown, "count": len(dead_letters), "can_retry": bool(retryable)}
    return page(request, "alerts/alerts.html", "alerts", **listing, tabs=tabs, dead=dead)


def can_act_on(request: HttpRequest, alert: Alert) -> bool:
    """Whether the person may acknowledge, suppress or resolve it: a responder in its project."""
    return may(request.user, "responder", project_of(alert))


def evaluation_ms() -> int:
    """How often a rule's value can change: an open alert page reads its value no more often."""
    return round(settings.MONITOR_EVALUATION_INTERVAL_S * 1000)


@login_required
def alert(request: HttpRequest, alert_id: int) -> HttpResponse:
    found = read.get_alert(alert_id, request.user)
    detail = read.page_of(found, timezone.now())
    context = {"suppress_choices": SUPPRESS_CHOICES, "remind_choices": REMIND_CHOICES, "every_ms": evaluation_ms()}
    # The actions go by the role in the alert's project, not in the current one.
    context["can_act"] = can_act_on(request, found)
    return page(request, "alerts/alert.html", "alerts", alert=detail, **context)
