"""Deliveries: the dead-letter list (viewer) and retry by hand (responder)."""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Status

from alerts import outbox
from alerts.lifecycle import NotApplicable
from alerts.models import Delivery
from monitoring.auth import require_role, user_auth

from .alerts import delivery_out
from .schemas import DeliveryOut, DeliveryPage, Error, Page

router = Router(tags=["deliveries"])


class DeliveryFilters(Page):
    state: Literal["pending", "sending", "sent", "dead"] | None = None


@router.get("/deliveries", auth=user_auth, response=DeliveryPage)
def list_deliveries(request: HttpRequest, filters: Query[DeliveryFilters]) -> dict:
    deliveries = Delivery.objects.select_related("channel")
    if filters.state:
        deliveries = deliveries.filter(state=filters.state)
    page = deliveries[filters.offset : filters.offset + filters.limit]
    return {"items": [delivery_out(d) for d in page], "count": deliveries.count()}


@router.post(
    "/deliveries/{delivery_id}/retry", auth=user_auth, response={202: DeliveryOut, 403: Error, 404: Error, 409: Error}
)
def retry_delivery(request: HttpRequest, delivery_id: int) -> Status:
    require_role(request, "responder")
    delivery = get_object_or_404(Delivery.objects.select_related("channel", "alert__rule"), id=delivery_id)
    if not outbox.retry(delivery, request.user):
        raise NotApplicable(f"only a dead-lettered delivery can be retried; this one is {delivery.state}")
    delivery.refresh_from_db()
    return Status(202, delivery_out(delivery))
