"""Read .env and the settings before anything else runs, so a configuration error reads as one line.

Every entry point (manage.py, wsgi, asgi, `celery -A resilience_site`) imports this
package first, and the package calls configure() before anything else.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

ROOT = Path(__file__).resolve().parent.parent

# Any non-zero code fails the process; 3 is the one gunicorn's master takes as "a worker
# failed to boot" and stops on, where after any other it would start worker after worker.
CONFIGURATION_ERROR = 3


def configure() -> None:
    # What the environment already says wins: a supervisor's or a shell's variable
    # overrides the file, as with every other source of settings.
    load_dotenv(ROOT / ".env", override=False)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "resilience_site.settings")
    try:
        importlib.import_module(os.environ["DJANGO_SETTINGS_MODULE"])
    except ImproperlyConfigured as error:
        # The traceback of a settings module says nothing the message does not, and hides
        # it under sixty lines; the message names the setting and what it needs.
        print(f"Configuration error: {error}", file=sys.stderr)
        sys.exit(CONFIGURATION_ERROR)
