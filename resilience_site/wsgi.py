from __future__ import annotations

import io
import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "resilience_site.settings")

django_application = get_wsgi_application()


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
    return django_application(environ, start_response)
