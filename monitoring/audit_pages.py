"""The audit page: every change to configuration, newest first, filterable (admins)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.urls import path
from pydantic import Field, ValidationError

from .audit import KIND_NAMES, KINDS, AuditFilters, differences, find_entries
from .auth import page_for
from .models import AuditEntry
from .paging import MAX_OFFSET
from .views import page

PAGE_SIZE = 100
FILTERS = ("kind", "actor", "object_id", "action", "offset")


class AuditQuery(AuditFilters):
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


def audit_query(request: HttpRequest) -> tuple[AuditQuery, bool]:
    given = {name: request.GET[name] for name in FILTERS if request.GET.get(name)}
    try:
        return AuditQuery(**given), True
    except ValidationError:
        return AuditQuery(), False


def with_query(query: AuditQuery, **changes: object) -> str:
    values = {name: getattr(query, name) for name in FILTERS} | changes
    return "?" + urlencode({name: value for name, value in values.items() if value})


def shown(entry: AuditEntry) -> dict:
    return {"entry": entry, "changes": differences(entry), "kind": KIND_NAMES.get(entry.kind, entry.kind)}


@page_for("owner")
def audit(request: HttpRequest) -> HttpResponse:
    query, understood = audit_query(request)
    entries = find_entries(query)
    count = entries.count()
    items = [shown(e) for e in entries[query.offset : query.offset + PAGE_SIZE]]
    end = query.offset + len(items)
    pager = {
        "count": count,
        "previous": with_query(query, offset=max(0, query.offset - PAGE_SIZE)) if query.offset else None,
        "next": with_query(query, offset=end) if end < count else None,
    }
    actors = AuditEntry.objects.order_by("actor_name").values_list("actor_name", flat=True).distinct()
    return page(
        request,
        "monitoring/audit.html",
        "audit",
        entries=items,
        query=query,
        understood=understood,
        pager=pager,
        kinds=KINDS,
        actors=list(actors[:200]),
    )


urlpatterns = [path("audit/", audit, name="audit")]
