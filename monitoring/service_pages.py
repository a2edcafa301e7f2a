"""The services pages: the list (every role; the form to create one for admins), and one
service's settings (admins): its ingest tokens (create, rotate with a grace period, revoke),
its first-batch snippet, rename, delete and history. Every change goes through
service_changes, as the API's do. The service's own page, for every role, composes the apps:
resilience_site/service_page.py.

A raw token is shown once: the view that made it keeps it in the session, and the service
page takes it out as it shows it, so a reload shows it no more.
"""

from __future__ import annotations

from collections import Counter

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from . import service_changes as changes
from .auth import acting_on, page_for, require_role
from .errors import InputError
from .forms import field_errors, form_values, parse
from .health import judged_rows
from .models import Function, IngestToken, Service
from .paging import MAX_OFFSET, Rows
from .projects import current_project
from .read import functions_out, needs_histograms, trouble_candidates
from .services import (
    RotateIn,
    ServiceIn,
    ServicePatch,
    all_services,
    dependency_choices,
    history_lines,
    refused_days,
    refused_words,
    service_detail,
    show_services,
)
from .views import page

PAGE_SIZE = 50
HISTORY_SHOWN = 50
# How long a rotated token keeps working: minutes and how they read.
GRACE_CHOICES = [(60, "1 hour"), (1440, "1 day"), (10080, "7 days"), (0, "none: stop it now")]
ISSUED = "services.issued_token"


def offset_of(request: HttpRequest) -> int:
    given = request.GET.get("offset", "")
    return min(int(given), MAX_OFFSET) if given.isascii() and given.isdigit() else 0


def in_trouble(service_ids: list[int]) -> dict[str, int]:
    """How many of each service's functions are degraded or unhealthy, judged as the functions
    table judges them (by the database, unless a p95 limit needs their histograms)."""
    if not service_ids:
        return {}
    functions = Function.objects.filter(service_id__in=service_ids)
    if needs_histograms():
        candidates = functions.select_related("service").filter(trouble_candidates())
        rows = functions_out(list(candidates))
        return Counter(row["service"] for row in rows if row["health"] in ("unhealthy", "degraded"))
    counted = judged_rows(functions, "service, COUNT(*)", "WHERE health IN ('unhealthy', 'degraded') GROUP BY service")
    return dict(counted)


def listing(request: HttpRequest, form: dict | None = None, problems: dict | None = None) -> HttpResponse:
    offset = offset_of(request)
    rows = Rows(all_services(request.user), show_services)
    items, count = rows[offset : offset + PAGE_SIZE], len(rows)
    trouble = in_trouble([item["id"] for item in items])
    for item in items:
        item["refused_words"] = refused_words(item["refused"])
        item["in_trouble"] = trouble.get(item["name"], 0)
    end = offset + len(items)
    pager = {
        "count": count,
        "previous": f"?offset={max(0, offset - PAGE_SIZE)}" if offset else None,
        "next": f"?offset={end}" if end < count else None,
    }
    response = page(
        request,
        "monitoring/services.html",
        "services",
        services=items,
        pager=pager,
        form=form or {},
        errors=problems or {},
    )
    if problems:
        response.status_code = 422
    return response


@require_http_methods(["GET", "POST"])
@page_for("viewer")
def services(request: HttpRequest) -> HttpResponse:
    """Every role reads the list; admins create a service with its form."""
    if request.method != "POST":
        return listing(request)
    require_role(request, "admin")
    values = form_values(request.POST)
    given, problems = parse(ServiceIn, values)
    if given is None:
        return listing(request, values, problems)
    try:
        service = changes.create_service(request.user, given.name, project=current_project(request))
    except InputError as error:
        return listing(request, values, field_errors(error))
    messages.success(request, f"Service “{service.name}” created. Now create its first ingest token.")
    return redirect("service-settings", service.id)


def issued_here(request: HttpRequest, service_id: int) -> dict | None:
    """The raw token just made for this service, once; None when there is none (or it was shown)."""
    issued = request.session.pop(ISSUED, None)
    return issued if issued and issued.get("service") == service_id else None


def detail(
    request: HttpRequest, service_id: int, form: dict | None = None, problems: dict | None = None
) -> HttpResponse:
    found = service_detail(service_id, request.user)
    issued = issued_here(request, service_id)
    response = page(
        request,
        "monitoring/service_settings.html",
        "services",
        service=found,
        issued=issued,
        snippet={"site_url": settings.SITE_URL, "token": issued["raw"] if issued else None, "service": found["name"]},
        grace_choices=GRACE_CHOICES,
        refused=refused_days(service_id),
        history=history_lines(service_id, found["tokens"], HISTORY_SHOWN),
        form=form or {"name": found["name"]},
        errors=problems or {},
        dependencies=dependency_choices(found, request.user, (form or {}).get("depends_on")),
    )
    if problems:
        response.status_code = 422
    return response


@page_for("viewer")
def settings_page(request: HttpRequest, service_id: int) -> HttpResponse:
    acting_on(request, Service, "admin", id=service_id)
    return detail(request, service_id)


def keep_issued(request: HttpRequest, token: IngestToken, raw: str) -> None:
    request.session[ISSUED] = {"service": token.service_id, "prefix": token.prefix, "raw": raw}


@require_POST
@page_for("viewer")
def rename(request: HttpRequest, service_id: int) -> HttpResponse:
    service = acting_on(request, Service, "admin", id=service_id)
    values = form_values(request.POST)
    given, problems = parse(ServiceIn, values)
    if given is None:
        return detail(request, service_id, values, problems)
    old = service.name
    try:
        changes.rename_service(request.user, service, given.name)
    except InputError as error:
        return detail(request, service_id, values, field_errors(error))
    if old != service.name:
        messages.success(request, f"Renamed “{old}” to “{service.name}”.")
    return redirect("service-settings", service.id)


@require_POST
@page_for("viewer")
def delete(request: HttpRequest, service_id: int) -> HttpResponse:
    service = acting_on(request, Service, "admin", id=service_id)
    changes.delete_service(request.user, service)
    messages.success(request, f"Service “{service.name}” deleted with all it reported; its tokens no longer work.")
    return redirect("services")


@require_POST
@page_for("viewer")
def create_token(request: HttpRequest, service_id: int) -> HttpResponse:
    token, raw = changes.create_token(request.user, acting_on(request, Service, "admin", id=service_id))
    keep_issued(request, token, raw)
    messages.success(request, f"Token {token.prefix}… created. Copy it now: it is not shown again.")
    return redirect("service-settings", service_id)


def token_of(request: HttpRequest, service_id: int, token_id: int) -> IngestToken:
    """A token of a service of the person's projects (404 otherwise) where they are admin (403 otherwise)."""
    tokens = IngestToken.objects.select_related("service")
    return acting_on(request, tokens, "admin", id=token_id, service_id=service_id)


@require_POST
@page_for("viewer")
def rotate_token(request: HttpRequest, service_id: int, token_id: int) -> HttpResponse:
    old = token_of(request, service_id, token_id)
    values = form_values(request.POST)
    # A form sends text; the API takes only JSON numbers for minutes.
    grace = str(values.get("grace_minutes", ""))
    if grace.isascii() and grace.isdigit():
        values["grace_minutes"] = int(grace)
    given, problems = parse(RotateIn, values)
    try:
        if given is None:
            raise InputError("grace_minutes", problems.get("grace_minutes", "is not valid"))
        new, raw = changes.rotate_token(request.user, old, given.grace_minutes)
    except InputError as error:
        messages.error(request, f"Token {old.prefix}… was not rotated: {error.field} {error.message}.")
        return redirect("service-settings", service_id)
    keep_issued(request, new, raw)
    ends = "stopped working now" if given.grace_minutes == 0 else "keeps working until the time shown"
    messages.success(request, f"Token {new.prefix}… replaces {old.prefix}…, which {ends}. Copy the new one now.")
    return redirect("service-settings", service_id)


@require_POST
@page_for("viewer")
def revoke_token(request: HttpRequest, service_id: int, token_id: int) -> HttpResponse:
    token = changes.revoke_token(request.user, token_of(request, service_id, token_id))
    messages.success(request, f"Token {token.prefix}… revoked: it no longer works.")
    return redirect("service-settings", service_id)


@require_POST
@page_for("viewer")
def dependencies(request: HttpRequest, service_id: int) -> HttpResponse:
    service = acting_on(request, Service, "admin", id=service_id)
    # Checkboxes named depends_on, valued by service name (a name is never read as an id).
    values = form_values(request.POST, lists=("depends_on",))
    form = {"name": service.name, "depends_on": values["depends_on"]}
    given, problems = parse(ServicePatch, {"depends_on": values["depends_on"]})
    if given is None:
        return detail(request, service_id, form, {"depends_on": problems.get("depends_on", "is not valid")})
    try:
        changes.set_dependencies(request.user, service, given.depends_on)
    except InputError as error:
        return detail(request, service_id, form, field_errors(error))
    names = ", ".join(f"“{name}”" for name in given.depends_on) or "nothing"
    messages.success(request, f"“{service.name}” depends on {names}.")
    return redirect("service-settings", service.id)
