"""The audit trail in the API: the owner reads every change to configuration."""

# No `from __future__ import annotations`: ninja resolves the annotations of a decorated
# view (@paginate) in the decorator's module, where these names are unknown.

from datetime import datetime

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.pagination import paginate

from .audit import AuditFilters, entry_rows
from .auth import require_role, user_auth
from .paging import Rows, ShortPagination
from .schemas import errors

router = Router(tags=["audit"])


class AuditEntryOut(Schema):
    id: int
    at: datetime
    actor: str
    action: str
    kind: str
    object_id: str
    label: str
    before: dict | None
    after: dict | None


@router.get("/audit", auth=user_auth, response={200: list[AuditEntryOut], **errors(401, 403, 422, 503)})
@paginate(ShortPagination)
def list_audit(request: HttpRequest, filters: Query[AuditFilters]) -> Rows:
    """Every change to rules, channels, silences, services, tokens and people, newest first (the owner)."""
    require_role(request, "owner")
    return entry_rows(filters)
