"""Silences and maintenance windows: read (viewer), create and end (admin)."""

# No `from __future__ import annotations`: ninja resolves the annotations of a decorated
# view (@paginate, @shared) in the decorator's module, where these names are unknown.

from datetime import timedelta

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate

from alerts.evaluate import refresh_suppression
from alerts.models import Rule, Silence
from monitoring.auth import require_role, user_auth
from monitoring.errors import InputError
from monitoring.paging import Rows, ShortPagination
from monitoring.schemas import errors

from .schemas import SilenceIn, SilenceOut

router = Router(tags=["silences"])


class SilenceFilters(Schema):
    active: bool | None = None


def silence_out(silence: Silence) -> dict:
    now = timezone.now()
    return {
        "id": silence.id,
        "service": silence.service,
        "subject": silence.subject,
        "rule": silence.rule_id,
        "fingerprint": silence.fingerprint,
        "starts_at": silence.starts_at,
        "ends_at": silence.ends_at,
        "comment": silence.comment,
        "created_by": silence.created_by.get_username() if silence.created_by else None,
        "created": silence.created,
        "active": silence.starts_at <= now < silence.ends_at,
    }


def window(payload: SilenceIn) -> tuple:
    starts = payload.starts_at or timezone.now()
    if payload.ends_at is None and payload.minutes is None:
        raise InputError("ends_at", "give ends_at or minutes")
    ends = payload.ends_at or starts + timedelta(minutes=payload.minutes)
    if ends <= starts:
        raise InputError("ends_at", "must be after starts_at")
    if ends <= timezone.now():
        raise InputError("ends_at", "must be in the future")
    return starts, ends


@router.get("/silences", auth=user_auth, response={200: list[SilenceOut], **errors(401, 422, 503)})
@paginate(ShortPagination)
def list_silences(request: HttpRequest, filters: Query[SilenceFilters]) -> Rows:
    silences = Silence.objects.select_related("created_by")
    now = timezone.now()
    if filters.active is True:
        silences = silences.filter(starts_at__lte=now, ends_at__gt=now)
    elif filters.active is False:
        silences = silences.exclude(starts_at__lte=now, ends_at__gt=now)
    return Rows(silences, lambda page: [silence_out(s) for s in page])


@router.post("/silences", auth=user_auth, response={201: SilenceOut, **errors(400, 401, 403, 413, 422, 503)})
def create_silence(request: HttpRequest, payload: SilenceIn) -> Status:
    require_role(request, "admin")
    starts, ends = window(payload)
    if payload.rule is not None and not Rule.objects.filter(id=payload.rule).exists():
        raise InputError("rule", f"no rule with id {payload.rule}")
    silence = Silence.objects.create(
        service=payload.service,
        subject=payload.subject,
        rule_id=payload.rule,
        starts_at=starts,
        ends_at=ends,
        comment=payload.comment,
        created_by=request.user,
    )
    refresh_suppression()
    return Status(201, silence_out(silence))


@router.get("/silences/{silence_id}", auth=user_auth, response={200: SilenceOut, **errors(401, 404, 422, 503)})
def get_silence(request: HttpRequest, silence_id: int) -> dict:
    return silence_out(get_object_or_404(Silence.objects.select_related("created_by"), id=silence_id))


@router.delete("/silences/{silence_id}", auth=user_auth, response={204: None, **errors(401, 403, 404, 422, 503)})
def end_silence(request: HttpRequest, silence_id: int) -> Status:
    """End a silence now (kept for the record) or drop one that has not started."""
    require_role(request, "admin")
    silence = get_object_or_404(Silence, id=silence_id)
    now = timezone.now()
    if silence.starts_at > now:
        silence.delete()
    elif silence.ends_at > now:
        Silence.objects.filter(id=silence.id).update(ends_at=now)
    refresh_suppression()
    return Status(204, None)
