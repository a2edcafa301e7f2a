"""The read layer for services: what the services API and the pages show of each."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count
from django.utils import timezone
from ninja import Schema
from pydantic import Field

from .models import Refusal, RefusalReason, Service


class Refused(Schema):
    invalid: int = Field(description="not JSON, a bad item, a reused key (400, 409, 415, 422)")
    cap: int = Field(description="one function, queue or instance past its cap (422)")
    too_large: int = Field(description="over the body or item limit (413)")
    rate: int = Field(description="over the token's requests a minute (429)")


class ServiceOut(Schema):
    id: int
    name: str
    created: datetime
    functions: int
    refused: Refused = Field(description="batches refused today (UTC), by reason")


def service_rows() -> list[dict]:
    services = list(Service.objects.annotate(function_count=Count("functions")).order_by("name"))
    refused = Refusal.today([service.id for service in services])
    return [
        {
            "id": service.id,
            "name": service.name,
            "created": service.created,
            "functions": service.function_count,
            "refused": refused[service.id],
        }
        for service in services
    ]


def refused_words(refused: dict[str, int]) -> str:
    """{"invalid": 3, "rate": 9, ...} -> "3 invalid, 9 over the rate"."""
    return ", ".join(f"{refused[reason]} {reason.label}" for reason in RefusalReason if refused.get(reason))


def refused_today() -> list[dict]:
    """The services that had batches refused today, with how many and why, for a page's header."""
    found: dict[str, dict[str, int]] = {}
    rows = Refusal.objects.filter(day=timezone.now().date()).order_by("service__name")
    for name, reason, count in rows.values_list("service__name", "reason", "count"):
        found.setdefault(name, {})[reason] = count
    return [
        {"name": name, "total": sum(refused.values()), "words": refused_words(refused)}
        for name, refused in found.items()
    ]
