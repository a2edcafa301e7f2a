"""Error answers for the alerts API: {"detail": "<field>: message"} naming the field."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import ValidationError

from alerts.lifecycle import NotApplicable
from alerts.transports import ConfigError

OWN_PATHS = tuple(f"/api/v1/{name}" for name in ("alerts", "rules", "channels", "silences", "deliveries"))


class Invalid(Exception):
    status = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def field_of(error: dict) -> str:
    loc = [str(part) for part in error.get("loc", ())]
    # ("body", "payload", "threshold") -> "threshold"; ("query", "state") -> "state"
    if loc and loc[0] in ("body", "query", "path"):
        loc = loc[1:]
        if len(loc) > 1 and loc[0] in ("payload", "filters", "data"):
            loc = loc[1:]
    return ".".join(loc) or "body"


def install(api: NinjaAPI) -> None:
    """Map the alerts app's exceptions once; other apps keep ninja's default 422 shape."""
    default_validation = api._exception_handlers.get(ValidationError)

    @api.exception_handler(Invalid)
    def invalid(request: HttpRequest, error: Invalid) -> HttpResponse:
        return api.create_response(request, {"detail": str(error), "field": error.field}, status=error.status)

    @api.exception_handler(ConfigError)
    def bad_config(request: HttpRequest, error: ConfigError) -> HttpResponse:
        return api.create_response(request, {"detail": str(error), "field": error.field}, status=422)

    @api.exception_handler(NotApplicable)
    def not_applicable(request: HttpRequest, error: NotApplicable) -> HttpResponse:
        return api.create_response(request, {"detail": str(error), "field": ""}, status=409)

    @api.exception_handler(ValidationError)
    def validation(request: HttpRequest, error: ValidationError) -> HttpResponse:
        if not request.path.startswith(OWN_PATHS) and default_validation is not None:
            return default_validation(request, error)
        first = error.errors[0] if error.errors else {}
        field = field_of(first)
        status = 400 if first.get("type") == "json_invalid" else 422
        message = first.get("msg", "is not valid")
        return api.create_response(request, {"detail": f"{field}: {message}", "field": field}, status=status)
