"""The one error shape of the whole API, set here for every router and every status:

    {"detail": "<field path>: <message>", "field": "<field path>"}

The field path names what was wrong, as a client wrote it: `calls[17].duration_ms`,
`threshold`, `offset`, `config.to[1]`; it is "" when no one field is to blame (a missing
token, an unknown id, a body that is not JSON), and then detail is the message alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import orjson
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError

from alerts.lifecycle import NotApplicable
from alerts.transports import ConfigError
from monitoring.auth import TooManyFailures
from monitoring.batch import error_path
from monitoring.errors import InputError

log = logging.getLogger(__name__)

API_PATH = "/api/"
# Where ninja says a parameter came from: the first part of an error's location.
SOURCES = ("body", "query", "path", "header", "cookie", "form", "file")


def error_body(message: str, field: str = "") -> dict:
    return {"detail": f"{field}: {message}" if field else message, "field": field}


def error_response(status: int, message: str, field: str = "", **headers: str) -> HttpResponse:
    response = HttpResponse(orjson.dumps(error_body(message, field)), status=status, content_type="application/json")
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def field_of(error: dict) -> str:
    """ninja's ("body", "payload", "channels", 1) -> "channels[1]"; ("query", "offset") -> "offset"."""
    loc = list(error.get("loc", ()))
    if loc and loc[0] in SOURCES:
        source, loc = loc[0], loc[1:]
        # A body is one parameter (payload), named first: the client never wrote that name.
        if source == "body":
            loc = loc[1:]
            return error_path(tuple(loc)) or "body"
    return error_path(tuple(loc))


def message_of(error: dict) -> str:
    return str(error.get("msg", "is not valid")).removeprefix("Value error, ")


def install(api: NinjaAPI) -> None:
    """Answer every error an operation raises in the one shape."""
    handlers: dict[type[Exception], Callable[[HttpRequest, Exception], HttpResponse]] = {
        ValidationError: invalid_parameters,
        HttpError: http_error,
        Http404: not_found,
        PermissionDenied: forbidden,
        InputError: refused_input,
        ConfigError: refused_input,
        NotApplicable: conflict,
        TooManyFailures: too_many_failures,
        OperationalError: database_unavailable,
        InterfaceError: database_unavailable,
    }
    for exception, handler in handlers.items():
        api.add_exception_handler(exception, handler)


def invalid_parameters(request: HttpRequest, error: ValidationError) -> HttpResponse:
    first = error.errors[0] if error.errors else {}
    return error_response(422, message_of(first), field_of(first))


def http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    # ninja's own: 401 (no or a bad token), 400 (a body it cannot parse as JSON), 429.
    return error_response(error.status_code, str(error))


def not_found(request: HttpRequest, error: Http404) -> HttpResponse:
    return error_response(404, str(error) or "not found")


def forbidden(request: HttpRequest, error: PermissionDenied) -> HttpResponse:
    return error_response(403, str(error) or "forbidden")


def refused_input(request: HttpRequest, error: InputError | ConfigError) -> HttpResponse:
    return error_response(422, error.message, error.field)


def conflict(request: HttpRequest, error: NotApplicable) -> HttpResponse:
    return error_response(409, str(error))


def too_many_failures(request: HttpRequest, error: TooManyFailures) -> HttpResponse:
    return error_response(429, str(error), Retry_After=str(error.retry_after))


def database_unavailable(request: HttpRequest, error: Exception) -> HttpResponse:
    # Nothing was half-stored: every write runs in one transaction, rolled back by now.
    log.warning("database unavailable for %s: %s", request.path, error)
    return error_response(503, "the database cannot take this right now; retry", Retry_After="5")


class ApiErrors:
    """What answers an API request before or after ninja does, in the same shape: a body over the
    limit (413; Django would refuse it with an HTML 400), a method an operation does not take
    (405), a path under /api/ that is no operation (404), an error no handler expected (500)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PATH):
            return self.get_response(request)
        if too_large := body_too_large(request):
            return too_large
        return in_error_shape(self.get_response(request))


def body_too_large(request: HttpRequest) -> HttpResponse | None:
    declared = request.META.get("CONTENT_LENGTH") or "0"
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if not declared.isdigit() or int(declared) <= limit:
        return None
    return error_response(413, f"body is {declared} bytes; the limit is {limit}")


def in_error_shape(response: HttpResponse) -> HttpResponse:
    if response.status_code < 400 or response.get("Content-Type", "").startswith("application/json"):
        return response
    shaped = error_response(response.status_code, response.reason_phrase.lower())
    for header in ("Allow", "Retry-After"):
        if header in response:
            shaped[header] = response[header]
    return shaped
