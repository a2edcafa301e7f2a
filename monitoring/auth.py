"""Who is asking: service tokens for ingest; sessions or personal tokens for the read API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseClientRedirect
from ninja.security import HttpBearer, django_auth

from .models import IngestToken, UserToken

ROLES = ("viewer", "responder", "admin")


class ServiceTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> IngestToken | None:
        found = IngestToken.find(token)
        if found is not None:
            found.touch()
        return found


class UserTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):  # noqa: ANN201  (a user)
        found = UserToken.find(token)
        if found is None or not found.user.is_active:
            return None
        found.touch()
        request.user = found.user
        return found.user


# Session auth checks CSRF on unsafe methods; personal tokens need none.
user_auth = [UserTokenAuth(), django_auth]


def role_of(user) -> str:  # noqa: ANN001
    """admin = superuser, responder = staff, viewer = any other active user."""
    if user.is_superuser:
        return "admin"
    if user.is_staff:
        return "responder"
    return "viewer"


def require_role(request: HttpRequest, role: str) -> None:
    if ROLES.index(role_of(request.user)) < ROLES.index(role):
        raise PermissionDenied(f"this needs the {role} role")


def fragment_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A page fragment's view: GET, logged-in users only.

    A page whose session ended asks with htmx: the whole page goes to the login form (and
    comes back after it), instead of the form being swapped into a table.
    """

    @require_GET
    @wraps(view)
    def checked(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        if request.htmx:
            return HttpResponseClientRedirect(redirect_to_login(request.htmx.current_url_abs_path or "/").url)
        return redirect_to_login(request.get_full_path())

    return checked


def seconds_over_rate(token: IngestToken) -> int:
    """0 while the token is within its requests per minute, else seconds until the next window."""
    now = timezone.now().timestamp()
    window = int(now // 60)
    key = f"ingest-rate:{token.id}:{window}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.set(key, 1, timeout=120)
        count = 1
    if count <= token.rate_limit():
        return 0
    return max(1, int((window + 1) * 60 - now))
