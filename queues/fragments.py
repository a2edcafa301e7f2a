"""The queues' page fragments: the queues table's body and one queue's cards."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path

from monitoring.auth import fragment_view
from monitoring.paging import MAX_LIMIT
from monitoring.shared import shared_fragment

from .read import find_queues, queue_growth, visible_queues


@fragment_view
def queue_table(request: HttpRequest) -> HttpResponse:
    """Every queue's latest snapshot and growth, as the queues page lists them."""
    return shared_fragment(
        request, "queues/_queues_table.html", lambda: {"queues": find_queues(request.user)[:MAX_LIMIT]}
    )


@fragment_view
def queue_figures(request: HttpRequest, queue_id: int) -> HttpResponse:
    """One queue's latest snapshot and its growth over 5 minutes."""
    queue = get_object_or_404(visible_queues(request.user), id=queue_id)
    context = {"queue": queue, "latest": queue.latest(), "growth": queue_growth([queue.id]).get(queue.id)}
    return render(request, "queues/_queue_figures.html", context)


urlpatterns = [
    path("queues/table", queue_table, name="fragment-queues"),
    path("queues/<int:queue_id>/figures", queue_figures, name="fragment-queue-figures"),
]
