"""The people pages (admins: add, invite, set a role, deactivate, see and revoke a person's
tokens), everybody's own API tokens page, and the page where an invited person sets a
password. Thin: each form is parsed into the API's schema and handed to monitoring.people.

A set-password link and a new token are shown once: the POST keeps them in the session, the
page after the redirect takes them out and shows them, so a reload shows them no more.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from . import audit, people
from .auth import page_for
from .errors import InputError
from .forms import field_errors, form_values, parse
from .models import AuditEntry
from .paging import MAX_OFFSET
from .people import InviteIn, PersonIn, PersonPatch, TokenIn
from .projects import visible_projects
from .views import page

PAGE_SIZE = 50
HISTORY_SHOWN = 20
SHOWN_ONCE = "people.shown_once"


def page_of(request: HttpRequest, rows: QuerySet) -> tuple[list, dict]:
    """One page of rows (?offset=) and its pager."""
    offset = request.GET.get("offset", "0")
    offset = min(int(offset), MAX_OFFSET) if offset.isdigit() else 0
    items, count = list(rows[offset : offset + PAGE_SIZE]), rows.count()
    pager = {
        "count": count,
        "previous": f"?offset={max(0, offset - PAGE_SIZE)}" if offset else None,
        "next": f"?offset={offset + PAGE_SIZE}" if offset + PAGE_SIZE < count else None,
    }
    return items, pager


def show_once(request: HttpRequest, where: str, **what: object) -> HttpResponseRedirect:
    request.session[SHOWN_ONCE] = {"where": where, **what}
    return redirect(where)


def shown_once(request: HttpRequest) -> dict | None:
    """What the POST before this page left to show once, if it was left for this page."""
    kept = request.session.get(SHOWN_ONCE)
    if kept is None or kept.get("where") != request.path:
        return None
    del request.session[SHOWN_ONCE]
    return kept


def form_page(request: HttpRequest, errors: dict | None, template: str, active: str, **context: object) -> HttpResponse:
    """A page with a form: 422 when the form it shows came back with errors."""
    response = page(request, template, active, errors=errors or {}, **context)
    if errors:
        response.status_code = 422
    return response


# People (admins)


@page_for("owner")
def people_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return add_person(request)
    return people_page(request)


def people_page(request: HttpRequest, values: dict | None = None, errors: dict | None = None) -> HttpResponse:
    rows, pager = page_of(request, people.people())
    return form_page(
        request,
        errors,
        "monitoring/people.html",
        "people",
        people=[people.person_view(user, user.token_count) for user in rows],
        pager=pager,
        roles=ROLE_CHOICES,
        values=values or {"role": "viewer"},
    )


ROLE_CHOICES = [("viewer", "Viewer"), ("responder", "Responder"), ("admin", "Admin")]


def add_person(request: HttpRequest) -> HttpResponse:
    """The add form's two buttons: invite (a set-password link) or create with a password."""
    values = form_values(request.POST)
    inviting = values.pop("how", "invite") != "create"
    if inviting:
        values.pop("password", None)
    elif "password" not in values:
        return people_page(request, values, {"password": "give a first password, or invite them instead"})
    payload, errors = parse(InviteIn if inviting else PersonIn, values)
    if errors:
        return people_page(request, values, errors)
    try:
        if inviting:
            user, path = people.invite_person(request.user, payload)
        else:
            user = people.create_person(request.user, payload)
    except InputError as error:
        return people_page(request, values, field_errors(error))
    if not inviting:
        messages.success(request, f"Added {user.get_username()} ({people.person_role(user)}); they can log in now.")
        return redirect("person", user.pk)
    return invited(request, user, path)


def invited(request: HttpRequest, user: AbstractBaseUser, path: str) -> HttpResponseRedirect:
    url = request.build_absolute_uri(path)
    email_error = people.email_invite(user, url, request.user)
    expires = people.link_expires().isoformat()
    where = reverse("person", args=[user.pk])
    return show_once(request, where, link=url, expires=expires, email_error=email_error, email=user.email)


@page_for("owner")
def person(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(people.User, pk=user_id)
    return person_page(request, user)


def person_page(
    request: HttpRequest, user: AbstractBaseUser, values: dict | None = None, errors: dict | None = None
) -> HttpResponse:
    shown = shown_once(request)
    if shown:
        shown["expires"] = datetime.fromisoformat(shown["expires"])
    view = people.person_view(user)
    return form_page(
        request,
        errors,
        "monitoring/person.html",
        "people",
        person=view,
        tokens=[people.token_view(t) for t in people.live_tokens(user)],
        history=[history_line(entry) for entry in audit.history("user", user.pk)[:HISTORY_SHOWN]],
        roles=ROLE_CHOICES,
        values=values or {"role": view["role"], "email": view["email"]},
        invite=shown,
        is_you=user.pk == request.user.pk,
    )


def history_line(entry: AuditEntry) -> dict:
    """An audit entry as the person's page lists it: each field, before (if any) and after."""
    before, after = entry.before or {}, entry.after or {}
    changes = [
        {"name": name, "before": worded(before[name]) if name in before else None, "after": worded(after[name])}
        for name in after
    ]
    return {"at": entry.at, "actor": entry.actor_name, "action": entry.action, "changes": changes}


def worded(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "none" if value in ("", None) else str(value)


@require_POST
@page_for("owner")
def person_update(request: HttpRequest, user_id: int) -> HttpResponse:
    """The details form: role and e-mail."""
    user = get_object_or_404(people.User, pk=user_id)
    values = form_values(request.POST)
    values.setdefault("email", "")
    payload, errors = parse(PersonPatch, values)
    if errors:
        return person_page(request, user, values, errors)
    return changed(request, user, payload.model_dump(exclude_unset=True), values)


@require_POST
@page_for("owner")
def person_active(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(people.User, pk=user_id)
    return changed(request, user, {"active": not user.is_active})


def changed(request: HttpRequest, user: AbstractBaseUser, changes: dict, values: dict | None = None) -> HttpResponse:
    before = people.snapshot(user)
    try:
        people.update_person(request.user, user, changes)
    except InputError as error:
        user.refresh_from_db()
        return person_page(request, user, values, field_errors(error))
    after = people.snapshot(user)
    messages.success(request, change_message(before, after))
    if user.pk == request.user.pk and after["role"] != "admin":
        return redirect("tokens")  # no longer an admin: the people pages are closed to you now
    return redirect("person", user.pk)


def change_message(before: dict, after: dict) -> str:
    name = after["username"]
    if before["active"] != after["active"]:
        if after["active"]:
            return f"Reactivated {name}: they can log in again, and their tokens work again."
        return f"Deactivated {name}: their sessions ended and their API tokens stopped working."
    if before == after:
        return "Nothing changed."
    return f"Saved {name} ({after['role']})."


@require_POST
@page_for("owner")
def person_invite(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(people.User, pk=user_id)
    try:
        path = people.invite_again(request.user, user)
    except InputError as error:
        messages.error(request, error.message)
        return redirect("person", user.pk)
    return invited(request, user, path)


@require_POST
@page_for("owner")
def person_token_revoke(request: HttpRequest, user_id: int, token_id: int) -> HttpResponse:
    user = get_object_or_404(people.User, pk=user_id)
    token = get_object_or_404(people.live_tokens(user), id=token_id)
    people.revoke_token(request.user, token)
    messages.success(request, f"Revoked {user.get_username()}’s token “{token.name or token.prefix}”.")
    return redirect("person", user.pk)


# Your own tokens (everybody)


@page_for("viewer")
def tokens(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return tokens_page(request)
    values = form_values(request.POST, checkboxes=("read_only",))
    payload, errors = parse(TokenIn, values)
    if errors:
        return tokens_page(request, values, errors)
    try:
        token, raw = people.issue_token(request.user, request.user, payload)
    except InputError as error:
        return tokens_page(request, values, field_errors(error))
    return show_once(request, request.path, token=raw, name=token.name, scope=token.scope)


def tokens_page(request: HttpRequest, values: dict | None = None, errors: dict | None = None) -> HttpResponse:
    rows, pager = page_of(request, people.live_tokens(request.user))
    return form_page(
        request,
        errors,
        "monitoring/tokens.html",
        "tokens",
        tokens=[people.token_view(t) for t in rows],
        pager=pager,
        created=shown_once(request),
        values=values or {},
        token_projects=list(visible_projects(request.user).order_by("name", "id")[:200]),
    )


@require_POST
@page_for("viewer")
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(people.live_tokens(request.user), id=token_id)
    people.revoke_token(request.user, token)
    messages.success(request, f"Revoked “{token.name or token.prefix}”: it stopped working.")
    return redirect("tokens")


# Setting a password from an invitation


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """Django's password-reset confirmation, for an invited person: the link works once, then
    the person is logged in. A deactivated person's link does not work."""

    template_name = "registration/set_password.html"
    post_reset_login = True
    success_url = "/"

    def get_user(self, uidb64: str) -> AbstractBaseUser | None:
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active else None

    def get_context_data(self, **kwargs: object) -> dict:
        return {**super().get_context_data(**kwargs), "person": self.user}

    def form_valid(self, form: SetPasswordForm) -> HttpResponse:
        response = super().form_valid(form)
        audit.record(form.user, "password set", form.user, label=form.user.get_username())
        messages.success(self.request, f"Welcome, {form.user.get_username()}: your password is set.")
        return response
