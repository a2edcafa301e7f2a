"""Load the settings before anything else runs, so that a configuration error reads as one line.

Every entry point (manage.py, wsgi, asgi, `celery -A resilience_site`) imports this
package first, and the package calls configure() before anything else.
"""

from __future__ import annotations

import importlib
import os
import sys

from django.core.exceptions import ImproperlyConfigured

# Any non-zero code fails the process; 3 is the one gunicorn's master takes as "a worker
# failed to boot" and stops on, where after any other it would start worker after worker.
CONFIGURATION_ERROR = 3


def configure() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "resilience_site.settings")
    try:
        importlib.import_module(os.environ["DJANGO_SETTINGS_MODULE"])
    except ImproperlyConfigured as error:
        # The traceback of a settings module says nothing the message does not, and hides
        # it under sixty lines; the message names the setting and what it needs.
        print(f"Configuration error: {error}", file=sys.stderr)
        sys.exit(CONFIGURATION_ERROR)
