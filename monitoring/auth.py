"""Who is asking: service tokens for ingest; sessions or personal tokens for the read API."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer, django_auth

from . import outages
from .models import IngestToken, UserToken
from .outages import CACHE_ERRORS

log = logging.getLogger(__name__)

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


def seconds_over_rate(token: IngestToken) -> int:
    """0 while the token is within its requests per minute, else seconds until the next window.

    Without the cache (Redis down) every request is let through: refusing them all would
    lose every service's data for an outage of a part that only counts.
    """
    now = timezone.now().timestamp()
    window = int(now // 60)
    try:
        count = count_request(f"ingest-rate:{token.id}:{window}")
    except CACHE_ERRORS as error:
        outages.warn(log, "rate limit", f"ingest rate limits are not enforced: the cache is down ({error})")
        return 0
    if count <= token.rate_limit():
        return 0
    return max(1, int((window + 1) * 60 - now))


def count_request(key: str) -> int:
    """Add one to a per-window counter in the cache (it outlives its minute by one)."""
    cache.add(key, 0, timeout=120)
    try:
        return cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.set(key, 1, timeout=120)
        return 1
