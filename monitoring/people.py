"""People and their API tokens: add one (with a first password, or invited to set their own),
set a role, change an e-mail, deactivate and reactivate; issue and revoke personal tokens.

The one place these change, called by the API (people_api.py), the pages (people_pages.py)
and the commands. Each change is written with its audit entry in one transaction; no entry
holds a password, a set-password link or a raw token.

A person's role here is their installation-wide one: admin = the owner (a superuser, admin in
every project), responder or viewer = their role in the default project (a membership, see
monitoring/projects.py; the staff flag follows it for Django's own admin). Roles in other
projects are set on each project's settings page.
"""

from __future__ import annotations

import smtplib
from datetime import datetime, timedelta
from importlib import import_module
from typing import Literal

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.auth.tokens import default_token_generator
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from pydantic import Field

from . import audit, projects
from .errors import InputError
from .inputs import Body, Flag, Name, Text, example, unchanged
from .models import Membership, Project, UserToken
from .projects import forget_roles

User = get_user_model()
Actor = AbstractBaseUser | AnonymousUser | None
RoleName = Literal["viewer", "responder", "admin"]
TokenScopeName = Literal["api", "metrics:read"]
PERSON_FIELDS = ("username", "email", "role", "active")

USERNAME_HELP = "letters, digits and @ . + - _ only; at most 150"


class InviteIn(Body):
    model_config = example({"username": "dana", "email": "dana@example.org", "role": "responder"})

    username: Name = Field(max_length=150, description=USERNAME_HELP)
    email: Text = Field("", max_length=254, description="where the set-password link is sent, when e-mail works")
    role: RoleName = "viewer"


class PersonIn(InviteIn):
    model_config = example(
        {"username": "dana", "email": "dana@example.org", "role": "responder", "password": "a long passphrase"}
    )

    password: Text = Field(
        min_length=1, max_length=4096, description="the first password; checked by the password validators"
    )


class PersonPatch(Body):
    model_config = example({"role": "admin"})

    role: RoleName = unchanged()
    active: Flag = unchanged(description="false ends the person's sessions and stops their tokens at once")
    email: Text = unchanged(max_length=254)


class TokenIn(Body):
    model_config = example({"name": "deploy script"})

    name: Name = Field(max_length=100, description="what the token is for")
    scope: TokenScopeName = Field(
        "api", description="api: the API with your role; metrics:read: GET /metrics only (for Prometheus)"
    )
    project: Text = Field(
        "",
        max_length=50,
        description="a project's slug: the token acts in that project only (with your role there); "
        "empty: in every project you are in. An api token only",
    )
    read_only: Flag = Field(False, description="true: the token reads only; any write answers 403. An api token only")


def people() -> QuerySet:
    """Everybody, with the count of their live tokens, by username (the people list)."""
    live = Count("api_tokens", filter=Q(api_tokens__revoked__isnull=True))
    return User.objects.annotate(token_count=live).order_by("username")


def live_tokens(user: AbstractBaseUser) -> QuerySet[UserToken]:
    live = UserToken.objects.filter(user=user, revoked__isnull=True).select_related("project")
    return live.order_by("-created", "-id")


def person_view(user: AbstractBaseUser, tokens: int | None = None) -> dict:
    """A person as the list, their page and the API show them."""
    return {
        "id": user.pk,
        "username": user.get_username(),
        "email": user.email,
        "role": person_role(user),
        "active": user.is_active,
        "password_set": user.has_usable_password(),
        "last_login": user.last_login,
        "date_joined": user.date_joined,
        "tokens": live_tokens(user).count() if tokens is None else tokens,
    }


def token_view(token: UserToken) -> dict:
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "scope": token.scope,
        "project": token.project.slug if token.project_id else None,
        "project_name": token.project.name if token.project_id else None,
        "read_only": token.read_only,
        "created": token.created,
        "last_used": token.last_used,
    }


def snapshot(user: AbstractBaseUser) -> dict:
    return {"username": user.get_username(), "email": user.email, "role": person_role(user), "active": user.is_active}


def person_role(user: AbstractBaseUser) -> str:
    """admin for the owner, else the role in the default project (one given but not yet saved
    first); viewer when they have none there."""
    if user.is_superuser:
        return "admin"
    pending = getattr(user, "_default_role", None)
    if pending is not None or user.pk is None:
        return pending or "viewer"
    found = Membership.objects.filter(user=user, project__slug="default").values_list("role", flat=True).first()
    return found or "viewer"


def keep_default_role(user: AbstractBaseUser) -> None:
    """Write the role give_role set as the person's membership of the default project."""
    role = getattr(user, "_default_role", None)
    if role is None:
        return
    project = Project.objects.default()
    Membership.objects.update_or_create(user=user, project=project, defaults={"role": role})
    forget_roles(user)


def token_snapshot(token: UserToken) -> dict:
    # The prefix is what lists show; the token itself is never kept.
    found = {"name": token.name, "prefix": token.prefix, "scope": token.scope, "user": token.user.get_username()}
    if token.project_id:
        found["project"] = token.project.slug
    if token.read_only:
        found["read_only"] = True
    return found


def token_label(token: UserToken) -> str:
    return f"{token.user.get_username()}: {token}"


def give_role(user: AbstractBaseUser, role: str) -> None:
    """admin: the owner; responder or viewer: that role in the default project (written by
    keep_default_role once the person is saved). An owner is made admin there too, so a later
    demotion leaves them in the project."""
    user.is_superuser = role == "admin"
    user.is_staff = role in ("admin", "responder")
    user._default_role = role


def check_username(username: str) -> str:
    username = username.strip()
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError:
        raise InputError("username", f"use {USERNAME_HELP}") from None
    # Logins match usernames exactly; two that differ only in case would be told apart by nobody.
    if User.objects.filter(username__iexact=username).exists():
        raise InputError("username", f"“{username}” is taken")
    return username


def check_email(email: str) -> str:
    email = email.strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise InputError("email", "is not an e-mail address") from None
    return email


def check_password(password: str, user: AbstractBaseUser) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise InputError("password", " ".join(error.messages)) from None


def new_person(payload: InviteIn) -> AbstractBaseUser:
    user = User(username=check_username(payload.username), email=check_email(payload.email))
    give_role(user, payload.role)
    return user


def create_person(actor: Actor, payload: PersonIn) -> AbstractBaseUser:
    """A person who logs in with the password given."""
    user = new_person(payload)
    check_password(payload.password, user)
    user.set_password(payload.password)
    add(actor, audit.CREATED, user)
    return user


def invite_person(actor: Actor, payload: InviteIn) -> tuple[AbstractBaseUser, str]:
    """A person with no password yet, and the path of the one-time link where they set one."""
    user = new_person(payload)
    user.set_unusable_password()
    add(actor, "invited", user)
    return user, set_password_path(user)


def add(actor: Actor, verb: str, user: AbstractBaseUser) -> None:
    try:
        with transaction.atomic():
            user.save()
            keep_default_role(user)
            audit.record(actor, verb, user, label=user.get_username(), after=snapshot(user))
    except IntegrityError:
        # Taken by someone added at the same moment, after check_username looked.
        raise InputError("username", f"“{user.get_username()}” is taken") from None


def invite_again(actor: Actor, user: AbstractBaseUser) -> str:
    """A new set-password link for a person who has not set a password yet (the first was lost)."""
    if user.has_usable_password():
        raise InputError("", f"{user.get_username()} has set a password already")
    if not user.is_active:
        raise InputError("", f"{user.get_username()} is deactivated: reactivate them first")
    audit.record(actor, "invited", user, label=user.get_username())
    return set_password_path(user)


def set_password_path(user: AbstractBaseUser) -> str:
    """Django's password-reset link: it works once (setting a password changes what it was
    made from) and for PASSWORD_RESET_TIMEOUT (3 days) at most."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("set-password", args=[uid, default_token_generator.make_token(user)])


def link_expires() -> datetime:
    return timezone.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)


def email_invite(user: AbstractBaseUser, url: str, by: AbstractBaseUser) -> str:
    """Send the link to the person's address; "" when sent, else why not (the caller shows the
    link anyway: it is the way that always works)."""
    if not user.email:
        return "no e-mail address given"
    body = (
        f"{by.get_username()} added you to Resilience Monitor as {user.get_username()} ({person_role(user)}).\n\n"
        f"Set your password here (the link works once, for {settings.PASSWORD_RESET_TIMEOUT // 3600} hours):\n"
        f"{url}\n"
    )
    try:
        send_mail("Your Resilience Monitor login", body, settings.DEFAULT_FROM_EMAIL, [user.email])
    except (smtplib.SMTPException, OSError) as error:
        return f"cannot send e-mail: {error or type(error).__name__}"
    return ""


def update_person(actor: Actor, user: AbstractBaseUser, changes: dict) -> AbstractBaseUser:
    """Change role, active and e-mail (those given); one audit entry per kind of change."""
    before = snapshot(user)
    if "email" in changes:
        user.email = check_email(changes["email"])
    if "role" in changes:
        give_role(user, changes["role"])
    if "active" in changes:
        user.is_active = changes["active"]
    after = snapshot(user)
    with transaction.atomic():
        if before["role"] == "admin" and before["active"] and (after["role"] != "admin" or not after["active"]):
            keep_an_admin(user, "role" if after["role"] != "admin" else "active")
        user.save(update_fields=["email", "is_staff", "is_superuser", "is_active"])
        keep_default_role(user)
        record_changes(actor, user, before, after)
    if before["active"] and not after["active"]:
        end_sessions(user)
    return user


def keep_an_admin(user: AbstractBaseUser, field: str) -> None:
    """Refuse to leave the site without an active admin (nobody could then manage people).

    The active admins' rows are locked (on PostgreSQL), so two admins demoting each other at
    the same moment cannot both succeed.
    """
    admins = list(
        User.objects.select_for_update().filter(is_superuser=True, is_active=True).values_list("pk", flat=True)
    )
    if not [pk for pk in admins if pk != user.pk]:
        raise InputError(field, f"{user.get_username()} is the last active admin: make someone else an admin first")


def record_changes(actor: Actor, user: AbstractBaseUser, before: dict, after: dict) -> None:
    name = user.get_username()
    if before["role"] != after["role"]:
        audit.record(
            actor, "role changed", user, label=name, before={"role": before["role"]}, after={"role": after["role"]}
        )
    if before["active"] != after["active"]:
        verb = "reactivated" if after["active"] else "deactivated"
        audit.record(
            actor, verb, user, label=name, before={"active": before["active"]}, after={"active": after["active"]}
        )
    if before["email"] != after["email"]:
        audit.record(
            actor, audit.UPDATED, user, label=name, before={"email": before["email"]}, after={"email": after["email"]}
        )


def end_sessions(user: AbstractBaseUser) -> int:
    """Log the person out everywhere; returns how many sessions ended.

    Django already refuses an inactive user's session on each request; the sessions are
    deleted too, so reactivating a person does not bring back a login left open somewhere.
    Open dashboards notice within their socket's recheck (resilience_site/consumers.py).
    Sessions are not indexed by user: this reads every live one, which a deactivation (rare)
    can afford.
    """
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if not issubclass(store, DatabaseSessionStore):
        return 0
    ended = 0
    user_id = str(user.pk)
    for row in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if store().decode(row.session_data).get("_auth_user_id") == user_id:
            store(session_key=row.session_key).delete()
            ended += 1
    return ended


def token_project(user: AbstractBaseUser, payload: TokenIn) -> Project | None:
    """The project a new token is narrowed to: one the person may see (else "no such project",
    so a name does not leak). A token narrowed itself issues tokens narrowed to its project."""
    slug = payload.project.strip()
    if slug and payload.scope != "api":
        raise InputError("project", "only an api token is narrowed to a project (/metrics is not scoped by project)")
    narrowed = projects.narrowed_to(user)
    if not slug:
        return None if narrowed is None else Project.objects.get(id=narrowed)
    found = projects.visible_projects(user).filter(slug=slug).first()
    if found is None:
        raise InputError("project", f"you are in no project “{slug}”")
    return found


def issue_token(actor: Actor, user: AbstractBaseUser, payload: TokenIn) -> tuple[UserToken, str]:
    """A new personal token for user; the raw token is returned here and never again."""
    project = token_project(user, payload)
    if payload.read_only and payload.scope != "api":
        raise InputError("read_only", "a metrics:read token reads only already")
    with transaction.atomic():
        token, raw = UserToken.issue(
            user=user, name=payload.name.strip(), scope=payload.scope, project=project, read_only=payload.read_only
        )
        audit.record(actor, audit.CREATED, token, label=token_label(token), after=token_snapshot(token))
    return token, raw


def revoke_token(actor: Actor, token: UserToken) -> bool:
    """Revoke a live token (False when it was revoked already: nothing recorded twice)."""
    with transaction.atomic():
        # A conditional update: of two revocations at once, one records it.
        if not UserToken.objects.filter(id=token.id, revoked__isnull=True).update(revoked=timezone.now()):
            return False
        audit.record(actor, "revoked", token, label=token_label(token), before=token_snapshot(token))
    return True
