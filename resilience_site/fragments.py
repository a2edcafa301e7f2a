"""The overview's fragments: its cards, the functions most in trouble, the queues backing up.

All three render one computation of the overview's figures, shared between them and
between pages like an API answer (monitoring/shared.py): a delta makes every open
overview ask for all three at once.
"""

from __future__ import annotations

import time

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import path

from monitoring.auth import fragment_view
from monitoring.projects import scope_key
from monitoring.shared import fragment_response, freshness, shared_value

from .overview import overview_figures

SHARED_KEY = "shared-answer:overview-figures:{}"


def figures_for(request: HttpRequest) -> tuple[float, dict]:
    """(computed_at, figures): fresh, or shared when the page asks with max_age."""
    max_age, newer_than = freshness(request.GET)
    if not max_age:
        return time.time(), overview_figures(request.user)
    # Shared only by people who see the same projects.
    key = SHARED_KEY.format(scope_key(request.user))
    return shared_value(key, max_age, newer_than, lambda now: overview_figures(request.user))


def overview_fragment(request: HttpRequest, template_name: str) -> HttpResponse:
    # Stamped with the figures' time, not the rendering's: a page told of a newer delta asks again.
    computed_at, figures = figures_for(request)
    return fragment_response(render_to_string(template_name, {"figures": figures}), computed_at)


@fragment_view
def figures(request: HttpRequest) -> HttpResponse:
    return overview_fragment(request, "monitoring/_overview_figures_fragment.html")


@fragment_view
def trouble(request: HttpRequest) -> HttpResponse:
    return overview_fragment(request, "monitoring/_overview_trouble.html")


@fragment_view
def backing_up(request: HttpRequest) -> HttpResponse:
    return overview_fragment(request, "monitoring/_overview_backing_up.html")


urlpatterns = [
    path("overview/figures", figures, name="fragment-overview-figures"),
    path("overview/trouble", trouble, name="fragment-overview-trouble"),
    path("overview/backing-up", backing_up, name="fragment-overview-backing-up"),
]
