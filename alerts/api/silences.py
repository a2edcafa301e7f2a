"""Silences and maintenance windows: read (viewer); create, preview and end (responder)."""

# No `from __future__ import annotations`: ninja resolves the annotations of a decorated
# view (@paginate, @shared) in the decorator's module, where these names are unknown.

from typing import Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate

from alerts import silence_changes, silences
from alerts.models import Silence
from monitoring.auth import acting_on, project_for_new, user_auth
from monitoring.paging import Rows, ShortPagination
from monitoring.projects import get_visible_or_404, scoped
from monitoring.schemas import errors

from .schemas import SilenceIn, SilenceOut, SilencePreview

router = Router(tags=["silences"])


class SilenceFilters(Schema):
    state: Literal["active", "scheduled", "expired"] | None = None
    active: bool | None = None


@router.get("/silences", auth=user_auth, response={200: list[SilenceOut], **errors(401, 422, 503)})
@paginate(ShortPagination)
def list_silences(request: HttpRequest, filters: Query[SilenceFilters]) -> Rows:
    """The silences of your projects, newest first; `state` picks one tab of the page,
    `active=false` all but active."""
    now = timezone.now()
    if filters.state is not None:
        found = silences.in_state(filters.state, now)
    elif filters.active is not None:
        active_ids = silences.in_state("active", now).values("id")
        everything = Silence.objects.select_related("rule", "created_by", "project")
        found = everything.filter(id__in=active_ids) if filters.active else everything.exclude(id__in=active_ids)
    else:
        found = Silence.objects.select_related("rule", "created_by", "project")
    found = scoped(found, request.user)
    return Rows(found, lambda page: [silences.as_dict(s, now) for s in page])


@router.post("/silences", auth=user_auth, response={201: SilenceOut, **errors(400, 401, 403, 413, 422, 503)})
def create_silence(request: HttpRequest, payload: SilenceIn) -> Status:
    project = project_for_new(request, payload.project, "responder")
    silence = silence_changes.create(request.user, payload, project)
    return Status(201, silences.as_dict(silence))


@router.post(
    "/silences/preview", auth=user_auth, response={200: SilencePreview, **errors(400, 401, 403, 413, 422, 503)}
)
def preview_silence(request: HttpRequest, payload: SilenceIn) -> dict:
    """The open alerts a silence with this body would hold right now; nothing is saved."""
    return silence_changes.preview(payload, project_for_new(request, payload.project, "responder"))


@router.get("/silences/{silence_id}", auth=user_auth, response={200: SilenceOut, **errors(401, 404, 422, 503)})
def get_silence(request: HttpRequest, silence_id: int) -> dict:
    found = Silence.objects.select_related("rule", "created_by", "project")
    return silences.as_dict(get_visible_or_404(found, request.user, id=silence_id))


@router.delete("/silences/{silence_id}", auth=user_auth, response={204: None, **errors(401, 403, 404, 422, 503)})
def end_silence(request: HttpRequest, silence_id: int) -> Status:
    """End a silence now (kept for the record) or drop one that has not started."""
    silence_changes.end(acting_on(request, Silence, "responder", id=silence_id), request.user)
    return Status(204, None)
