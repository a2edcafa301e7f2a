"""The functions table, and what every page needs (`page`, `first_steps`). Thin: it calls the
same read layer as the API, so a page and its live re-fetch show the same figures."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from pydantic import Field, ValidationError

from .auth import request_role
from .models import Service
from .paging import MAX_OFFSET
from .projects import User, scoped
from .read import FunctionFilters, find_functions
from .services import refused_today

PAGE_SIZE = 200
COLUMNS = [
    ("service", "Service"),
    ("name", "Function"),
    ("health", "Health"),
    ("breaker", "Breaker"),
    ("calls", "Calls 5 min"),
    ("error_rate", "Error rate"),
    ("p95", "p95"),
    ("last_seen", "Last seen"),
]
FILTER_FIELDS = ("service", "q", "health", "breaker", "sort", "offset")


def page(request: HttpRequest, template: str, active: str, **context: object) -> HttpResponse:
    """Render a dashboard page with what every page needs: the nav and the viewer's role."""
    role = request_role(request)
    can_act = role in ("responder", "admin")
    return render(request, template, {"active": active, "role": role, "can_act": can_act, **context})


def first_steps(user: User | None) -> dict:
    """What an empty dashboard tells a new user to do next (no service in their projects yet)."""
    return {"site_url": settings.SITE_URL, "has_service": scoped(Service.objects.all(), user).exists()}


class TableQuery(FunctionFilters):
    """The table's query string: the API's filters and the page (its size sent to the API on re-fetch)."""

    offset: int = Field(0, ge=0, le=MAX_OFFSET)
    limit: int = PAGE_SIZE


def function_filters(query: QueryDict) -> tuple[TableQuery, bool]:
    """The table's filters from the query string; (defaults, False) when they do not parse."""
    given = {name: query[name] for name in FILTER_FIELDS if query.get(name)}
    try:
        return TableQuery(**given), True
    except ValidationError:
        return TableQuery(), False


def with_query(filters: TableQuery, **changes: object) -> str:
    values = {name: getattr(filters, name) for name in FILTER_FIELDS} | changes
    return "?" + urlencode({name: value for name, value in values.items() if value})


def columns(filters: TableQuery) -> list[dict]:
    current = (filters.sort or "").lstrip("-")
    descending = (filters.sort or "").startswith("-")
    out = []
    for key, label in COLUMNS:
        # A second click on the sorted column reverses it; figures sort worst/largest first.
        first = key if key in ("service", "name") else f"-{key}"
        sort = (key if descending else f"-{key}") if key == current else first
        aria = ("descending" if descending else "ascending") if key == current else None
        out.append({"key": key, "label": label, "url": with_query(filters, sort=sort, offset=0), "aria_sort": aria})
    return out


def function_listing(query: QueryDict, user: User | None) -> dict:
    """The functions table for a query string: its rows, filters and pager (page and fragment)."""
    filters, valid = function_filters(query)
    found = find_functions(filters, user)
    rows = found[filters.offset : filters.offset + PAGE_SIZE]
    count = len(found)
    end = filters.offset + len(rows)
    pager = {
        "start": filters.offset + 1 if rows else 0,
        "end": end,
        "count": count,
        "previous": with_query(filters, offset=max(0, filters.offset - PAGE_SIZE)) if filters.offset else None,
        "next": with_query(filters, offset=end) if end < count else None,
    }
    filtered = any(query.get(name) for name in FILTER_FIELDS)
    return {"rows": rows, "filters": filters, "valid": valid, "filtered": filtered, "pager": pager}


@login_required
def functions(request: HttpRequest) -> HttpResponse:
    listing = function_listing(request.GET, request.user)
    context = {**listing, "columns": columns(listing["filters"]), "refused": refused_today(request.user)}
    return page(request, "monitoring/functions.html", "functions", **context, **first_steps(request.user))
