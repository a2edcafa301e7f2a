"""The one NinjaAPI: /api/v1/... endpoints, OpenAPI docs at /api/docs."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI

from alerts.api import install as install_alert_errors
from alerts.api import router as alerts_router
from monitoring.api import router as monitoring_router
from monitoring.auth import TooManyFailures
from monitoring.batch import Batch
from queues.api import router as queues_router

from .ingest_api import router as ingest_router
from .site_api import router as site_router

log = logging.getLogger(__name__)

api = NinjaAPI(title="Resilience Monitor API", version="1", urls_namespace="api")
api.add_router("/v1/", ingest_router)
api.add_router("/v1/", site_router)
api.add_router("/v1/", monitoring_router)
api.add_router("/v1/", queues_router)
api.add_router("/v1/", alerts_router)
install_alert_errors(api)


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def database_unavailable(request: HttpRequest, error: Exception) -> HttpResponse:
    # Nothing was half-stored: every write runs in one transaction, rolled back by now.
    log.warning("database unavailable for %s: %s", request.path, error)
    response = api.create_response(request, {"detail": "the database cannot take this right now; retry"}, status=503)
    response["Retry-After"] = "5"
    return response


@api.exception_handler(TooManyFailures)
def too_many_failures(request: HttpRequest, error: TooManyFailures) -> HttpResponse:
    response = api.create_response(request, {"detail": str(error), "field": ""}, status=429)
    response["Retry-After"] = str(error.retry_after)
    return response


@api.exception_handler(PermissionDenied)
def forbidden(request: HttpRequest, error: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": str(error) or "forbidden"}, status=403)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, error: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": str(error) or "not found"}, status=404)


_original_schema = api.get_openapi_schema


def openapi_with_batch(*args, **kwargs) -> dict:  # noqa: ANN002, ANN003
    """The ingest body is validated by a plain pydantic model; publish its schema too."""
    schema = _original_schema(*args, **kwargs)
    batch = Batch.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(batch.pop("$defs", {}))
    components["Batch"] = batch
    return schema


api.get_openapi_schema = openapi_with_batch
