"""The login forms (the site's and the admin's), with wrong passwords limited per address and per account."""

from __future__ import annotations

import hashlib
import math

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpResponse

from .auth import client_address, failure_window, failures, forget_failures, note_failure


def account_key(username: str) -> str:
    # Hashed: a username may hold characters a cache key must not.
    return hashlib.sha256(username.casefold().encode()).hexdigest()[:32]


def locked_for(address: str, account: str) -> int:
    """Seconds until this address or account may try again; 0 when it may now."""
    by_address = failures("login", address) >= settings.MONITOR_AUTH_FAILURES_PER_ADDRESS
    by_account = failures("account", account) >= settings.MONITOR_LOGIN_FAILURES_PER_ACCOUNT
    return failure_window()[1] if by_address or by_account else 0


class Throttled:
    """Refuses to check a password while its address or account has failed too often."""

    locked_for = 0

    def clean(self) -> dict:
        address = client_address(self.request)
        account = account_key(self.cleaned_data.get("username") or "")
        self.locked_for = locked_for(address, account)
        if self.locked_for:
            raise forms.ValidationError(self.locked_message(), code="locked")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            note_failure("login", address)
            note_failure("account", account)
            raise
        # The account's own mistakes are forgiven; the address's are not, or one account
        # known to an attacker would reset the count between guesses at others.
        forget_failures("account", account)
        return cleaned

    def locked_minutes(self) -> int:
        return math.ceil(self.locked_for / 60)

    def locked_message(self) -> str:
        minutes = self.locked_minutes()
        return f"Too many failed attempts; try again in {minutes} minute{'' if minutes == 1 else 's'}."


class LoginForm(Throttled, AuthenticationForm):
    pass


class AdminLoginForm(Throttled, AdminAuthenticationForm):
    pass


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    redirect_authenticated_user = True

    def form_invalid(self, form: LoginForm) -> HttpResponse:
        response = super().form_invalid(form)
        if form.locked_for:
            response.status_code = 429
            response["Retry-After"] = str(form.locked_for)
        return response
