"""Who is asking: service tokens for ingest; sessions or personal tokens for the read API."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseClientRedirect
from ninja.security import HttpBearer, django_auth

from . import outages, projects
from .errors import InputError
from .models import IngestToken, Project, TokenScope, UserToken, WorkingTokens
from .outages import CACHE_ERRORS

log = logging.getLogger(__name__)

ROLES = ("viewer", "responder", "admin")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class ServiceTokenAuth(HttpBearer):
    """A working ingest token: not revoked, not past the grace period a rotation gave it.

    Cached per process for at most MONITOR_TOKEN_CACHE_S (`WorkingTokens`), so a revocation
    or the end of a grace period holds in every process within that time.
    """

    def authenticate(self, request: HttpRequest, token: str) -> IngestToken | None:
        found = WorkingTokens.find(token)
        if found is None:
            return token_failed(request)
        found.touch()
        return found


class UserTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> AbstractBaseUser | None:
        found = UserToken.find(token)
        if found is None or not found.user.is_active:
            return token_failed(request)
        if found.scope != TokenScope.API:
            raise PermissionDenied(f"this token has the {found.scope} scope: it reads /metrics only, not the API")
        if found.read_only and request.method not in SAFE_METHODS:
            raise PermissionDenied("this token is read-only: it may read (GET) but not change anything")
        found.touch()
        if found.project_id is not None:
            projects.narrow(found.user, found.project_id)
        request.user = found.user
        request.__dict__.pop("_current_project", None)  # its current project: the narrowed one
        return found.user


# Session auth checks CSRF on unsafe methods; personal tokens need none.
user_auth = [UserTokenAuth(), django_auth]


def role_of(user: AbstractBaseUser | AnonymousUser, project: Project | int | None = None) -> str | None:
    """The person's role in a project (default: their first): owner -> admin; else their
    membership's or a team's, the highest; None: no access (monitoring/projects.py)."""
    if projects.is_owner(user):
        return "admin"
    return projects.role_in(user, project if project is not None else projects.home(user))


def request_role(request: HttpRequest) -> str | None:
    """The role of whoever asks, in the project they act in (the switcher's choice)."""
    return projects.role_in(request.user, projects.current_project(request))


def role_context(request: HttpRequest) -> dict:
    """Every template knows the viewer's role in the current project (the navigation shows what
    that role can use), and the projects the switcher offers when there are several."""
    if not request.user.is_authenticated:
        return {}
    current = projects.current_project(request)
    choices = list(projects.visible_projects(request.user).order_by("name", "id")[:200])
    return {
        "role": projects.role_in(request.user, current),
        "current_project": current,
        "project_choices": choices if len(choices) > 1 else [],
    }


def require_role(request: HttpRequest, role: str, project: Project | int | None = None) -> None:
    """At least role in project (default: the current project), else 403. role "owner": the
    installation's owner (who manages projects and people)."""
    if role == "owner":
        if not projects.is_owner(request.user):
            raise PermissionDenied("this needs the admin role for the whole installation (its owner)")
        return
    where = project if project is not None else projects.current_project(request)
    if not projects.may(request.user, role, where):
        raise PermissionDenied(f"this needs the {role} role")


def acting_on(request: HttpRequest, queryset: QuerySet | type[Model], role: str, **lookup: object) -> Model:
    """An object of the person's projects (else 404: another project's names do not leak) on
    which they have at least role in its project (else 403), e.g.
    `acting_on(request, Service, "admin", id=service_id)`."""
    found = projects.get_visible_or_404(queryset, request.user, **lookup)
    require_role(request, role, projects.project_of(found))
    return found


def project_for_new(request: HttpRequest, slug: str | None, role: str = "admin") -> Project:
    """Where a new object goes: the project named by its slug (an API input's optional
    `project`), else the current project; the person needs at least role there (403). A slug
    that is not one of the person's projects is an input error naming `project` (422), the
    same for a project that does not exist: its name does not leak."""
    if slug:
        found = projects.visible_projects(request.user).filter(slug=slug).first()
        if found is None:
            raise InputError("project", f"no project “{slug}” of yours")
    else:
        found = projects.current_project(request)
        if found is None:
            raise PermissionDenied(f"this needs the {role} role")
    require_role(request, role, found)
    return found


def page_for(role: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """A console page's view: logged-in users with at least `role`; others get the 403 page."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def checked(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            require_role(request, role)
            return view(request, *args, **kwargs)

        return checked

    return decorate


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


def count_request(key: str, timeout: int = 120) -> int:
    """Add one to a per-window counter in the cache (kept past its window: the key names it)."""
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.set(key, 1, timeout=timeout)
        return 1


class TooManyFailures(Exception):
    """An address (or account) failed to authenticate too often: refused until its window ends."""

    def __init__(self, what: str, retry_after: int) -> None:
        super().__init__(f"too many failed {what}; retry in {retry_after} s")
        self.retry_after = retry_after


def client_address(request: HttpRequest) -> str:
    """The caller's address: from MONITOR_CLIENT_ADDRESS_HEADER when a proxy in front sets it."""
    header = settings.MONITOR_CLIENT_ADDRESS_HEADER
    forwarded = request.headers.get(header, "") if header else ""
    # The last entry: a proxy appends the address it saw (X-Forwarded-For); earlier ones are
    # whatever the caller sent.
    return forwarded.split(",")[-1].strip() or request.META.get("REMOTE_ADDR", "")


def failure_window() -> tuple[int, int]:
    """(this window's number, seconds until it ends)."""
    now = timezone.now().timestamp()
    length = settings.MONITOR_AUTH_FAILURE_WINDOW_S
    return int(now // length), max(1, int((now // length + 1) * length - now))


def failures(kind: str, who: str) -> int:
    """Failures of kind (token, login, account) by who in this window; 0 while the cache is down."""
    window, _ = failure_window()
    try:
        return cache.get(f"auth-failures:{kind}:{window}:{who}", 0)
    except CACHE_ERRORS as error:
        failures_not_counted(error)
        return 0


def note_failure(kind: str, who: str) -> int:
    """Count one failure; returns the count so far in this window (0 while the cache is down)."""
    window, _ = failure_window()
    try:
        return count_request(f"auth-failures:{kind}:{window}:{who}", settings.MONITOR_AUTH_FAILURE_WINDOW_S * 2)
    except CACHE_ERRORS as error:
        failures_not_counted(error)
        return 0


def forget_failures(kind: str, who: str) -> None:
    window, _ = failure_window()
    try:
        cache.delete(f"auth-failures:{kind}:{window}:{who}")
    except CACHE_ERRORS as error:
        failures_not_counted(error)


def failures_not_counted(error: Exception) -> None:
    outages.warn(log, "auth failures", f"failed logins and tokens are not limited: the cache is down ({error})")


def token_failed(request: HttpRequest) -> None:
    """Count a wrong token from this address; past the limit the answer is 429, not 401.

    A right token is never refused: tokens carry 240 random bits, so guessing gets nowhere,
    and a pod left with a revoked token must not cut off the others behind its address.
    """
    if note_failure("token", client_address(request)) > settings.MONITOR_AUTH_FAILURES_PER_ADDRESS:
        raise TooManyFailures("token authentications from this address", failure_window()[1])
