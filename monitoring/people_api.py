"""People (the installation's owner) and each person's own API tokens (everybody), through monitoring.people."""

# No `from __future__ import annotations`: ninja resolves the annotations of a decorated
# view (@paginate) in the decorator's module, where these names are unknown.

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from . import people
from .auth import require_role, user_auth
from .paging import Rows, ShortPagination
from .people import InviteIn, PersonIn, PersonPatch, TokenIn
from .schemas import errors

router = Router(tags=["people"])


class PersonOut(Schema):
    id: int
    username: str
    email: str
    role: str = Field(description="viewer, responder or admin")
    active: bool
    password_set: bool = Field(description="false for a person invited who has not set a password yet")
    last_login: datetime | None
    date_joined: datetime
    tokens: int = Field(description="live personal API tokens")


class InviteOut(Schema):
    person: PersonOut
    set_password_url: str = Field(description="one-time link where the person sets a password; shown only here")
    expires: datetime
    emailed: bool
    email_error: str = Field(description='why it was not e-mailed ("" when it was)')


class UserTokenOut(Schema):
    id: int
    name: str
    prefix: str = Field(description="the token's first 12 characters, to tell it apart")
    scope: str = Field(description="api (the API with the person's role) or metrics:read (GET /metrics only)")
    project: str | None = Field(description="the slug of the one project it acts in; null: every project of the person")
    project_name: str | None
    read_only: bool = Field(description="true: it reads only (any write answers 403)")
    created: datetime
    last_used: datetime | None


class UserTokenCreated(UserTokenOut):
    token: str = Field(description="the token itself: shown in this answer only, stored as a digest")


def find_person(request: HttpRequest, user_id: int) -> AbstractBaseUser:
    require_role(request, "owner")
    return get_object_or_404(people.User, pk=user_id)


def invite_answer(request: HttpRequest, user: AbstractBaseUser, path: str) -> dict:
    url = request.build_absolute_uri(path)
    error = people.email_invite(user, url, request.user)
    return {
        "person": people.person_view(user),
        "set_password_url": url,
        "expires": people.link_expires(),
        "emailed": not error,
        "email_error": error,
    }


@router.get("/users", auth=user_auth, response={200: list[PersonOut], **errors(401, 403, 422, 503)})
@paginate(ShortPagination)
def list_users(request: HttpRequest) -> Rows:
    """Everybody, by username (the owner)."""
    require_role(request, "owner")
    return Rows(people.people(), lambda page: [people.person_view(u, u.token_count) for u in page])


@router.post("/users", auth=user_auth, response={201: PersonOut, **errors(400, 401, 403, 413, 422, 503)})
def create_user(request: HttpRequest, payload: PersonIn) -> Status:
    """A person who logs in with the password given (the owner)."""
    require_role(request, "owner")
    return Status(201, people.person_view(people.create_person(request.user, payload), 0))


@router.post("/users/invite", auth=user_auth, response={201: InviteOut, **errors(400, 401, 403, 413, 422, 503)})
def invite_user(request: HttpRequest, payload: InviteIn) -> Status:
    """A person with no password yet, and a one-time link where they set one (the owner).

    The link is e-mailed when the person has an address and e-mail works; it is in this
    answer either way, and in no other."""
    require_role(request, "owner")
    user, path = people.invite_person(request.user, payload)
    return Status(201, invite_answer(request, user, path))


@router.get("/users/{user_id}", auth=user_auth, response={200: PersonOut, **errors(401, 403, 404, 422, 503)})
def get_user(request: HttpRequest, user_id: int) -> dict:
    return people.person_view(find_person(request, user_id))


@router.patch(
    "/users/{user_id}", auth=user_auth, response={200: PersonOut, **errors(400, 401, 403, 404, 413, 422, 503)}
)
def update_user(request: HttpRequest, user_id: int, payload: PersonPatch) -> dict:
    """Change role, active or e-mail (the owner). Deactivating ends the person's sessions and stops
    their tokens at once; the last active admin can be neither demoted nor deactivated (422)."""
    user = find_person(request, user_id)
    return people.person_view(people.update_person(request.user, user, payload.model_dump(exclude_unset=True)))


@router.post("/users/{user_id}/invite", auth=user_auth, response={201: InviteOut, **errors(401, 403, 404, 422, 503)})
def invite_user_again(request: HttpRequest, user_id: int) -> Status:
    """A new set-password link for a person invited who has not set a password yet (the owner)."""
    user = find_person(request, user_id)
    return Status(201, invite_answer(request, user, people.invite_again(request.user, user)))


@router.get(
    "/users/{user_id}/tokens", auth=user_auth, response={200: list[UserTokenOut], **errors(401, 403, 404, 422, 503)}
)
@paginate(ShortPagination)
def list_user_tokens(request: HttpRequest, user_id: int) -> Rows:
    """A person's live tokens, newest first (admins see them, never the tokens themselves)."""
    user = find_person(request, user_id)
    return Rows(people.live_tokens(user), lambda page: [people.token_view(t) for t in page])


@router.delete(
    "/users/{user_id}/tokens/{user_token_id}", auth=user_auth, response={204: None, **errors(401, 403, 404, 422, 503)}
)
def revoke_user_token(request: HttpRequest, user_id: int, user_token_id: int) -> Status:
    """Revoke one of a person's tokens (the owner)."""
    user = find_person(request, user_id)
    people.revoke_token(request.user, get_object_or_404(people.live_tokens(user), id=user_token_id))
    return Status(204, None)


@router.get("/me/tokens", auth=user_auth, response={200: list[UserTokenOut], **errors(401, 403, 422, 503)})
@paginate(ShortPagination)
def list_my_tokens(request: HttpRequest) -> Rows:
    """Your own live API tokens, newest first."""
    return Rows(people.live_tokens(request.user), lambda page: [people.token_view(t) for t in page])


@router.post("/me/tokens", auth=user_auth, response={201: UserTokenCreated, **errors(400, 401, 403, 413, 422, 503)})
def create_my_token(request: HttpRequest, payload: TokenIn) -> Status:
    """A new API token that acts as you: the token is in this answer and never shown again. It may be
    narrowed to one of your projects (project) and to reading (read_only); a token narrowed to a
    project issues tokens narrowed to it, a read-only one issues none (403)."""
    token, raw = people.issue_token(request.user, request.user, payload)
    return Status(201, {**people.token_view(token), "token": raw})


@router.delete("/me/tokens/{user_token_id}", auth=user_auth, response={204: None, **errors(401, 403, 404, 422, 503)})
def revoke_my_token(request: HttpRequest, user_token_id: int) -> Status:
    """Revoke one of your tokens at once."""
    people.revoke_token(request.user, get_object_or_404(people.live_tokens(request.user), id=user_token_id))
    return Status(204, None)
