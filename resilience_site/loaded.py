"""The loaded site kept out of the garbage collector's walks, once a server has loaded it."""

from __future__ import annotations

import gc
from importlib import import_module

from django.conf import settings

# Allocations between collections of the youngest generation (Python's default: 700).
GC_YOUNG = 10_000


def freeze_loaded() -> None:
    """Load what the first request would (the URL configuration: every view, the API and its
    schemas), then freeze what loading made.

    The loaded site is about 160,000 objects that live as long as the process; every full
    collection walked them all again: tens of milliseconds in some request's answer time,
    most of the ingest's p99. A batch in flight is a few thousand objects: collected every
    GC_YOUNG allocations instead of 700, most are gone before a collection looks at them.
    """
    import_module(settings.ROOT_URLCONF)
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG, 20, 20)
