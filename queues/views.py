"""The queue pages: every queue's latest snapshot and growth; one queue over time."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from monitoring.page_ranges import CHART_RANGES, page_range
from monitoring.paging import MAX_LIMIT
from monitoring.views import first_steps, page

from .read import find_queues, queue_growth, visible_queues


@login_required
def queues(request: HttpRequest) -> HttpResponse:
    found = find_queues(request.user)
    context = {"queues": found[:MAX_LIMIT], "count": len(found), **first_steps(request.user)}
    return page(request, "queues/queues.html", "queues", **context)


@login_required
def queue(request: HttpRequest, queue_id: int) -> HttpResponse:
    queue = get_object_or_404(visible_queues(request.user), id=queue_id)
    growth = queue_growth([queue.id]).get(queue.id)
    shown = page_range(request.GET)
    context = {"queue": queue, "latest": queue.latest(), "growth": growth, "range": shown, "ranges": CHART_RANGES}
    response = page(request, "queues/queue.html", "queues", **context)
    if shown.error:
        response.status_code = 422  # the page still shows, with the message beside the ranges
    return response
