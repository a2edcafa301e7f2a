from __future__ import annotations

import io
import os

from django.conf import settings
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application
from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from .loaded import freeze_loaded

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "resilience_site.settings")

django_application = get_wsgi_application()

# The ingest endpoints (ours and OTLP's) answer services, never browsers: no session, login,
# CSRF token, message, htmx or framing to handle. They go through the two middlewares that
# concern them (ApiErrors shapes /api/ answers only; the OTLP view answers in OTLP's shapes).
INGEST_PATH = "/api/v1/ingest"
INGEST_PATHS = frozenset({INGEST_PATH, "/api/v1/ingest/validate", "/otlp/v1/metrics"})
INGEST_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",  # HTTPS redirect and HSTS, as everywhere
    "resilience_site.errors.ApiErrors",  # a body over the limit, a 405, a 500: in the API's shape
]


class IngestHandler(WSGIHandler):
    """Django's WSGI handler (request signals, URL resolution, the ninja operation, error
    answers) with the ingest paths' own short middleware list instead of settings.MIDDLEWARE.

    It also skips the connection health check (CONN_HEALTH_CHECKS: a SELECT 1 before each
    request's first query). A connection that broke since the last request fails its batch
    with a 503 (rolled back, nothing stored; the client retries) and is replaced for the next
    request, which is what the health check would have done one round trip earlier.
    """

    def get_response(self, request: HttpRequest) -> HttpResponse:
        for connection in connections.all(initialized_only=True):
            connection.health_check_done = True
        response = super().get_response(request)
        # As CommonMiddleware does on every other path: with its length a small answer goes out
        # in one piece, where without it the server frames it in chunks (two more writes).
        if not response.streaming and not response.has_header("Content-Length"):
            response.headers["Content-Length"] = str(len(response.content))
        return response

    def _get_response(self, request: HttpRequest) -> HttpResponse:
        """A batch POSTed to /api/v1/ingest goes straight to its view (ingest_api.ingest_direct);
        anything else (validate, OTLP, another method) is resolved as usual."""
        if request.method == "POST" and request.path_info == INGEST_PATH:
            from .ingest_api import ingest_direct  # models load once Django is set up, above

            return ingest_direct(request)
        return super()._get_response(request)

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        handler = convert_exception_to_response(self._get_response)
        for path in reversed(INGEST_MIDDLEWARE):
            handler = convert_exception_to_response(import_string(path)(handler))
        self._middleware_chain = handler


ingest_application = IngestHandler()


freeze_loaded()  # the WSGI server serves once this module is loaded


def with_length(environ: dict) -> dict:
    """A chunked body read whole (up to one byte past the largest accepted), with its length.

    Django reads CONTENT_LENGTH bytes; a chunked request sent straight to the WSGI server
    has none, so its body read as empty. One byte past the limit is enough for the
    endpoint to answer 413.
    """
    body = environ["wsgi.input"].read(settings.MONITOR_MAX_BODY_BYTES + 1)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return environ


def application(environ: dict, start_response: object) -> object:
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    if chunked and not environ.get("CONTENT_LENGTH"):
        environ = with_length(environ)
    if environ.get("PATH_INFO") in INGEST_PATHS:
        return ingest_application(environ, start_response)
    return django_application(environ, start_response)
