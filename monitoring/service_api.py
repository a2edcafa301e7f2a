"""The services API: services and their ingest tokens. Reading the list is for every user;
a service's tokens and every change are for admins. A raw token is in the answer to create
and rotate only."""

# No `from __future__ import annotations`: ninja reads the annotations at import.

from django.db import transaction
from django.http import HttpRequest
from ninja import Router, Status

from . import service_changes as changes
from .auth import acting_on, require_role, user_auth
from .models import IngestToken, Service
from .projects import current_project
from .schemas import errors
from .services import (
    IngestTokenIssued,
    IngestTokenOut,
    Rotated,
    RotateIn,
    ServiceDetail,
    ServiceIn,
    ServiceOut,
    ServicePatch,
    issued_out,
    service_detail,
    service_rows,
    token_out,
)

router = Router(tags=["services"])


def token_of(request: HttpRequest, service_id: int, token_id: int) -> IngestToken:
    """A token of a service of the caller's projects (404 otherwise) where they are admin (403 otherwise)."""
    tokens = IngestToken.objects.select_related("service")
    return acting_on(request, tokens, "admin", id=token_id, service_id=service_id)


@router.get("/services", auth=user_auth, response={200: list[ServiceOut], **errors(401, 503)})
def list_services(request: HttpRequest) -> list[dict]:
    """The services of the projects the caller may see."""
    return service_rows(request.user)


@router.post("/services", auth=user_auth, response={201: ServiceDetail, **errors(400, 401, 403, 422, 503)})
def create_service(request: HttpRequest, payload: ServiceIn) -> Status:
    """A new service in the caller's current project (admins of it), with no token yet: create
    one with POST /services/{id}/tokens."""
    require_role(request, "admin")
    project = current_project(request)
    service = changes.create_service(request.user, payload.name, payload.depends_on, project)
    return Status(201, service_detail(service.id, request.user))


@router.get("/services/{service_id}", auth=user_auth, response={200: ServiceDetail, **errors(401, 403, 404, 422, 503)})
def get_service(request: HttpRequest, service_id: int) -> dict:
    """A service with its ingest tokens, by prefix (admins of its project)."""
    acting_on(request, Service, "admin", id=service_id)
    return service_detail(service_id, request.user)


@router.patch(
    "/services/{service_id}", auth=user_auth, response={200: ServiceDetail, **errors(400, 401, 403, 404, 422, 503)}
)
def update_service(request: HttpRequest, service_id: int, payload: ServicePatch) -> dict:
    """Rename a service (its functions, tokens and history stay; rules match service names:
    check them), or set what it depends on (the whole list; a cycle is refused)."""
    service = acting_on(request, Service, "admin", id=service_id)
    with transaction.atomic():
        if payload.name is not None:
            changes.rename_service(request.user, service, payload.name)
        if payload.depends_on is not None:
            changes.set_dependencies(request.user, service, payload.depends_on)
    return service_detail(service_id, request.user)


@router.delete("/services/{service_id}", auth=user_auth, response={204: None, **errors(401, 403, 404, 422, 503)})
def delete_service(request: HttpRequest, service_id: int) -> Status:
    """Delete a service with all it reported; its tokens stop at once."""
    changes.delete_service(request.user, acting_on(request, Service, "admin", id=service_id))
    return Status(204, None)


@router.post(
    "/services/{service_id}/tokens",
    auth=user_auth,
    response={201: IngestTokenIssued, **errors(401, 403, 404, 422, 503)},
)
def create_token(request: HttpRequest, service_id: int) -> Status:
    """A new ingest token for the service: the raw token is in this answer and nowhere else."""
    token, raw = changes.create_token(request.user, acting_on(request, Service, "admin", id=service_id))
    return Status(201, issued_out(token, raw))


@router.post(
    "/services/{service_id}/tokens/{token_id}/rotate",
    auth=user_auth,
    response={201: Rotated, **errors(400, 401, 403, 404, 422, 503)},
)
def rotate_token(request: HttpRequest, service_id: int, token_id: int, payload: RotateIn) -> Status:
    """A new token replacing an active one, which keeps working for grace_minutes (0: stops at once)."""
    old = token_of(request, service_id, token_id)
    new, raw = changes.rotate_token(request.user, old, payload.grace_minutes)
    return Status(201, {"token": issued_out(new, raw), "replaced": token_out(old)})


@router.post(
    "/services/{service_id}/tokens/{token_id}/revoke",
    auth=user_auth,
    response={200: IngestTokenOut, **errors(401, 403, 404, 422, 503)},
)
def revoke_token(request: HttpRequest, service_id: int, token_id: int) -> dict:
    """Stop a token at once (one in its grace period too); revoking it again changes nothing."""
    return token_out(changes.revoke_token(request.user, token_of(request, service_id, token_id)))
