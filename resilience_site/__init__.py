from __future__ import annotations

from .startup import configure

# First of all: a configuration error ends any entry point with one line (see startup.py).
configure()

from .celery import app as celery_app

__all__ = ["celery_app"]
