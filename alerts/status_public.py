"""The public status pages: no login, no console chrome, cacheable for a minute.

/status/<slug>/ (HTML), /status/<slug>.json and /status/<slug>/feed.atom. Each answer
carries Cache-Control: public, max-age=60 and an ETag of its body; a conditional GET
(If-None-Match) whose ETag still matches is answered 304 with no body. An unknown or
disabled page is a 404.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.utils.feedgenerator import Atom1Feed
from django.views.decorators.cache import cache_control
from django.views.decorators.http import conditional_page, require_safe

from . import status_read
from .models import StatusIncident, StatusPage

MAX_AGE = 60
FEED_ITEMS = 50


def public(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """GET or HEAD only, shared caches may keep it a minute, and an ETag for conditional GETs."""

    return require_safe(cache_control(public=True, max_age=MAX_AGE)(conditional_page(view)))


def published(slug: str) -> StatusPage:
    return get_object_or_404(StatusPage, slug=slug, enabled=True)


@public
def status_page(request: HttpRequest, slug: str) -> HttpResponse:
    view = status_read.with_bars(status_read.public_view(published(slug)))
    # Rendered without the request: no context processor reads the session or the user, so
    # the answer does not vary by cookie and a shared cache keeps one copy for everyone.
    return HttpResponse(render_to_string("alerts/status_public.html", {"view": view}))


@public
def status_json(request: HttpRequest, slug: str) -> HttpResponse:
    return JsonResponse(status_read.as_json(status_read.public_view(published(slug))))


class IncidentFeed(Feed):
    """An Atom entry per incident (the newest 50), updated whenever an admin posts an update."""

    feed_type = Atom1Feed

    def get_object(self, request: HttpRequest, slug: str) -> StatusPage:
        return published(slug)

    def title(self, page: StatusPage) -> str:
        return f"{page.title}: incidents"

    def link(self, page: StatusPage) -> str:
        return f"/status/{page.slug}/"

    def subtitle(self, page: StatusPage) -> str:
        return page.description or f"Incidents published on {page.title}"

    def items(self, page: StatusPage) -> list[StatusIncident]:
        return list(page.incidents.prefetch_related("updates").order_by("-updated", "-id")[:FEED_ITEMS])

    def item_title(self, incident: StatusIncident) -> str:
        return f"{incident.title} ({incident.state})"

    def item_description(self, incident: StatusIncident) -> str:
        updates = sorted(incident.updates.all(), key=lambda u: (u.at, u.id), reverse=True)
        lines = [f"{u.at:%Y-%m-%d %H:%M} UTC, {u.state}: {u.body}" for u in updates]
        return "\n".join(lines) or f"{incident.state}"

    def item_link(self, incident: StatusIncident) -> str:
        return f"/status/{incident.page.slug}/#incident-{incident.id}"

    def item_pubdate(self, incident: StatusIncident) -> object:
        return incident.started_at

    def item_updateddate(self, incident: StatusIncident) -> object:
        return incident.updated


incident_feed = public(IncidentFeed())
