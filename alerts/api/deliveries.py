"""Deliveries: the dead-letter list (viewer) and retry by hand (responder)."""

# No `from __future__ import annotations`: ninja resolves the annotations of a decorated
# view (@paginate, @shared) in the decorator's module, where these names are unknown.

from typing import Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate

from alerts import outbox
from alerts.lifecycle import NotApplicable
from alerts.models import Delivery
from alerts.read import delivery_out, find_deliveries
from monitoring.auth import acting_on, user_auth
from monitoring.paging import Rows, ShortPagination
from monitoring.schemas import errors

from .schemas import DeliveryOut

router = Router(tags=["deliveries"])


class DeliveryFilters(Schema):
    state: Literal["pending", "sending", "sent", "dead"] | None = None


@router.get("/deliveries", auth=user_auth, response={200: list[DeliveryOut], **errors(401, 422, 503)})
@paginate(ShortPagination)
def list_deliveries(request: HttpRequest, filters: Query[DeliveryFilters]) -> Rows:
    return find_deliveries(request.user, filters.state)


@router.post(
    "/deliveries/{delivery_id}/retry",
    auth=user_auth,
    response={202: DeliveryOut, **errors(401, 403, 404, 409, 422, 503)},
)
def retry_delivery(request: HttpRequest, delivery_id: int) -> Status:
    # Its project is its alert's (else its incident's) service's: 404 for another project's.
    delivery = acting_on(
        request, Delivery.objects.select_related("channel", "alert__rule"), "responder", id=delivery_id
    )
    if not outbox.retry(delivery, request.user):
        raise NotApplicable(f"only a dead-lettered delivery can be retried; this one is {delivery.state}")
    delivery.refresh_from_db()
    return Status(202, delivery_out(delivery))
