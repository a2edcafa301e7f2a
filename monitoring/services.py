"""The read layer for services: what the services API and the pages show of each, with its
ingest tokens (by prefix: a raw token is shown once, by the change that made it)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from django.db.models import Count, IntegerField, Max, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from ninja import Schema
from pydantic import AfterValidator, Field

from . import dependencies
from .inputs import Body, Id, Name, Whole, example, unchanged
from .models import AuditEntry, Function, IngestToken, Refusal, RefusalReason, Service
from .projects import User, scoped

NAME_MAX = 100
# Rotation keeps the old token working for at most this long.
GRACE_MAX_MINUTES = 30 * 24 * 60


def printable(value: str) -> str:
    if not value.isprintable():
        raise ValueError("must be printable: no control characters")
    return value.strip()


ServiceName = Annotated[Name, AfterValidator(printable)]


# A service named in a body: by its id (a number) or its name (text).
ServiceRef = Id | ServiceName
DEPENDENCIES_MAX = 100
DEPENDS_ON = (
    "the services it depends on, by id or name: while one has an open critical alert, the alerts on "
    "this one's functions and queues are not notified; never itself, never a cycle"
)


class ServiceIn(Body):
    """A service's name: 1 to 100 printable characters, unique; spaces around it are dropped."""

    model_config = example({"name": "payments", "depends_on": []})
    name: ServiceName = Field(max_length=NAME_MAX)
    depends_on: list[ServiceRef] = Field([], max_length=DEPENDENCIES_MAX, description=DEPENDS_ON)


class ServicePatch(Body):
    """Fields left out stay as they are; depends_on replaces the whole list."""

    model_config = example({"depends_on": ["payments-db"]})
    name: ServiceName = unchanged(max_length=NAME_MAX)
    depends_on: list[ServiceRef] = unchanged(max_length=DEPENDENCIES_MAX, description=DEPENDS_ON)


class RotateIn(Body):
    model_config = example({"grace_minutes": 60})
    grace_minutes: Whole = Field(
        60,
        ge=0,
        le=GRACE_MAX_MINUTES,
        description="how long the old token keeps working, 0 to 43200 (30 days); 0 stops it at once",
    )


class Refused(Schema):
    invalid: int = Field(description="not JSON, a bad item, a reused key (400, 409, 415, 422)")
    cap: int = Field(description="one function, queue or instance past its cap (422)")
    too_large: int = Field(description="over the body or item limit (413)")
    rate: int = Field(description="over the token's requests a minute (429)")


class ServiceLink(Schema):
    id: int
    name: str


class ServiceOut(Schema):
    id: int
    name: str
    depends_on: list[ServiceLink] = Field(description="the services it depends on, by name")
    created: datetime
    functions: int
    last_report: datetime | None = Field(
        description="the latest of its functions' last report and its tokens' last use (to the minute)"
    )
    active_tokens: int = Field(description="tokens that work now, those in a rotation's grace period included")
    refused: Refused = Field(description="batches refused today (UTC), by reason")


class IngestTokenOut(Schema):
    id: int
    prefix: str = Field(description="the token's first 12 characters: how it is named everywhere")
    created: datetime
    last_used: datetime | None
    expires: datetime | None = Field(description="set by a rotation: the end of its grace period")
    revoked: datetime | None
    state: str = Field(description="active, expiring (rotated, still working until expires), expired or revoked")


class IngestTokenIssued(IngestTokenOut):
    token: str = Field(description="the raw token: shown in this answer only, stored as a digest")


class Rotated(Schema):
    token: IngestTokenIssued = Field(description="the new token")
    replaced: IngestTokenOut = Field(description="the old token, working until its expires")


class ServiceDetail(ServiceOut):
    tokens: list[IngestTokenOut] = Field(description="newest first, revoked and expired ones too")


def token_out(token: IngestToken) -> dict:
    return {
        "id": token.id,
        "prefix": token.prefix,
        "created": token.created,
        "last_used": token.last_used,
        "expires": token.expires,
        "revoked": token.revoked,
        "state": token.state,
    }


def issued_out(token: IngestToken, raw: str) -> dict:
    return {**token_out(token), "token": raw}


def with_figures(services: QuerySet[Service]) -> QuerySet[Service]:
    """Each service with its function count, last report and working tokens: subqueries, as
    two counts over joins would multiply each other."""
    functions = Function.objects.filter(service=OuterRef("pk")).order_by()
    tokens = IngestToken.objects.filter(service=OuterRef("pk")).order_by()
    return services.annotate(
        function_count=Coalesce(
            Subquery(functions.values("service").annotate(n=Count("id")).values("n")), 0, output_field=IntegerField()
        ),
        function_seen=Subquery(functions.values("service").annotate(at=Max("last_seen")).values("at")),
        token_used=Subquery(tokens.values("service").annotate(at=Max("last_used")).values("at")),
        active_tokens=Coalesce(
            Subquery(tokens.filter(IngestToken.working()).values("service").annotate(n=Count("id")).values("n")),
            0,
            output_field=IntegerField(),
        ),
    )


def last_report(service: Service) -> datetime | None:
    moments = [at for at in (service.function_seen, service.token_used) if at is not None]
    return max(moments, default=None)


def service_out(service: Service, refused: dict[str, int]) -> dict:
    return {
        "id": service.id,
        "name": service.name,
        "depends_on": [{"id": other.id, "name": other.name} for other in service.depends_on.all()],
        "created": service.created,
        "functions": service.function_count,
        "last_report": last_report(service),
        "active_tokens": service.active_tokens,
        "refused": refused,
    }


def show_services(services: list[Service]) -> list[dict]:
    refused = Refusal.today([service.id for service in services])
    return [service_out(service, refused[service.id]) for service in services]


def all_services(user: User | None) -> QuerySet[Service]:
    """The services of the projects the person may see."""
    return with_figures(scoped(Service.objects.order_by("name").prefetch_related("depends_on"), user))


def service_rows(user: User | None) -> list[dict]:
    return show_services(list(all_services(user)))


def service_detail(service_id: int, user: User | None) -> dict:
    """A service with its tokens; 404 when unknown or of a project the person may not see."""
    service = get_object_or_404(
        with_figures(scoped(Service.objects.prefetch_related("depends_on"), user)), id=service_id
    )
    [out] = show_services([service])
    return {**out, "tokens": [token_out(token) for token in service.tokens.all()]}


def history(service_id: int, token_ids: list[int]) -> QuerySet[AuditEntry]:
    """The service's entries and its tokens', newest first (its own page shows them)."""
    of_service = AuditEntry.objects.filter(kind="service", object_id=str(service_id))
    of_tokens = AuditEntry.objects.filter(kind="ingesttoken", object_id__in=[str(i) for i in token_ids])
    return (of_service | of_tokens).order_by("-at", "-id")


def history_lines(service_id: int, tokens: list[dict], limit: int = 50) -> list[dict]:
    """The service's history as its page words it: tokens by prefix (`other`: the token a rotation
    named), renames and rotations spelled out."""
    prefixes = {str(token["id"]): token["prefix"] for token in tokens}
    lines = []
    for entry in history(service_id, [token["id"] for token in tokens])[:limit]:
        after = entry.after or {}
        detail, other, until = "", None, None
        if entry.action == "renamed":
            detail = f"from “{(entry.before or {}).get('name')}” to “{after.get('name')}”"
        elif entry.action == "rotated":
            detail, other = "replaced by", after.get("replaced_by")
            until = parse_datetime(after["expires"]) if after.get("expires") else None
        elif entry.kind == "service" and (after.get("depends_on") or entry.action == "updated"):
            detail = "depends on " + (", ".join(after["depends_on"]) or "nothing")
            if entry.action != "created":
                detail += ", was " + (", ".join((entry.before or {}).get("depends_on") or []) or "nothing")
        elif after.get("replaces"):
            detail, other = "to replace", after["replaces"]
        token = prefixes.get(entry.object_id) if entry.kind == "ingesttoken" else None
        lines.append(
            {
                "at": entry.at,
                "actor": entry.actor_name,
                "action": entry.action,
                "token": token,
                "detail": detail,
                "other": other,
                "until": until,
            }
        )
    return lines


def refused_days(service_id: int, days: int = 14) -> list[dict]:
    """Refused batches by day (UTC), newest first, for the days that had any."""
    since: date = timezone.now().date() - timedelta(days=days - 1)
    found: dict[date, dict[str, int]] = {}
    rows = Refusal.objects.filter(service_id=service_id, day__gte=since).order_by("-day")
    for day, reason, count in rows.values_list("day", "reason", "count"):
        found.setdefault(day, {})[reason] = count
    return [{"day": day, "total": sum(r.values()), "words": refused_words(r)} for day, r in found.items()]


def refused_words(refused: dict[str, int]) -> str:
    """{"invalid": 3, "rate": 9, ...} -> "3 invalid, 9 over the rate"."""
    return ", ".join(f"{refused[reason]} {reason.label}" for reason in RefusalReason if refused.get(reason))


def refused_today(user: User | None) -> list[dict]:
    """The services (of the person's projects) that had batches refused today, with how many
    and why, for a page's header."""
    found: dict[str, dict[str, int]] = {}
    rows = scoped(Refusal.objects.filter(day=timezone.now().date()), user).order_by("service__name")
    for name, reason, count in rows.values_list("service__name", "reason", "count"):
        found.setdefault(name, {})[reason] = count
    return [
        {"name": name, "total": sum(refused.values()), "words": refused_words(refused)}
        for name, refused in found.items()
    ]


def dependency_choices(service: dict, user: User | None, chosen: list[str] | None = None) -> list[dict]:
    """Every other service the person may see, as the settings form offers it: chosen or not,
    and `blocked` when it depends on this one already (choosing it would make a cycle)."""
    if chosen is None:
        chosen = [other["name"] for other in service["depends_on"]]
    blocked = dependencies.depending_on(service["id"])
    others = scoped(Service.objects.exclude(id=service["id"]), user).order_by("name").values_list("id", "name")
    return [{"id": i, "name": name, "chosen": name in chosen, "blocked": i in blocked} for i, name in others]
