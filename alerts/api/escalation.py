"""Escalation policies: read (viewer), configure (admin); each person's notification address:
an admin's for anyone, each person's own. Writes go through alerts.escalation_changes, as the
pages' do."""

# No `from __future__ import annotations`: ninja resolves the annotations of a decorated
# view (@paginate) in the decorator's module, where these names are unknown.

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from alerts import escalation_changes, escalation_read
from alerts.models import EscalationPolicy
from monitoring.auth import acting_on, project_for_new, user_auth
from monitoring.paging import Rows, ShortPagination
from monitoring.schemas import errors

from .escalation_schemas import AddressIn, AddressOut, PolicyIn, PolicyOut, PolicyPatch

router = Router(tags=["escalation"])
WRITE_ERRORS = errors(400, 401, 403, 404, 413, 422, 503)


def find_policy(request: HttpRequest, policy_id: int, role: str = "viewer") -> EscalationPolicy:
    """A policy of the person's projects (else 404) on which they have at least role (else 403)."""
    return acting_on(request, escalation_read.policies(), role, id=policy_id)


@router.get("/escalation-policies", auth=user_auth, response={200: list[PolicyOut], **errors(401, 422, 503)})
@paginate(ShortPagination)
def list_policies(request: HttpRequest) -> Rows:
    """Every escalation policy, by name, with its steps and what follows it."""
    return escalation_read.policy_rows(request.user)


@router.post("/escalation-policies", auth=user_auth, response={201: PolicyOut, **errors(400, 401, 403, 413, 422, 503)})
def create_policy(request: HttpRequest, payload: PolicyIn) -> Status:
    project = project_for_new(request, payload.project)
    policy = escalation_changes.create(request.user, payload.model_dump(), project)
    return Status(201, escalation_read.policy_out(find_policy(request, policy.id)))


@router.get("/escalation-policies/{policy_id}", auth=user_auth, response={200: PolicyOut, **errors(401, 404, 422, 503)})
def get_policy(request: HttpRequest, policy_id: int) -> dict:
    return escalation_read.policy_out(find_policy(request, policy_id))


@router.patch("/escalation-policies/{policy_id}", auth=user_auth, response={200: PolicyOut, **WRITE_ERRORS})
def update_policy(request: HttpRequest, policy_id: int, payload: PolicyPatch) -> dict:
    """The fields given; `steps` replaces every step."""
    policy = find_policy(request, policy_id, "admin")
    policy = escalation_changes.update(policy, request.user, payload.model_dump(exclude_unset=True))
    return escalation_read.policy_out(find_policy(request, policy.id))


@router.delete(
    "/escalation-policies/{policy_id}", auth=user_auth, response={204: None, **errors(401, 403, 404, 422, 503)}
)
def delete_policy(request: HttpRequest, policy_id: int) -> Status:
    """Its rules and services follow no policy after; its incidents escalate no further."""
    escalation_changes.delete(find_policy(request, policy_id, "admin"), request.user)
    return Status(204, None)


def find_person(request: HttpRequest, user_id: int) -> AbstractBaseUser:
    """Their own address; for an admin, a person of their projects (escalation_read.reach_person)."""
    return escalation_read.reach_person(request.user, user_id)


@router.get(
    "/people/{user_id}/notification-address",
    auth=user_auth,
    response={200: AddressOut, **errors(401, 403, 404, 422, 503)},
)
def get_address(request: HttpRequest, user_id: int) -> dict:
    """Where escalation steps reach this person (`email` "" and `channel` null: nowhere yet)."""
    return escalation_read.address_out(find_person(request, user_id))


@router.put("/people/{user_id}/notification-address", auth=user_auth, response={200: AddressOut, **WRITE_ERRORS})
def set_address(request: HttpRequest, user_id: int, payload: AddressIn) -> dict:
    """An e-mail address or a channel id, one of the two."""
    user = find_person(request, user_id)
    escalation_changes.set_address(request.user, user, payload.email, payload.channel)
    return escalation_read.address_out(user)
