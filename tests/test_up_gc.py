"""`manage.py up` keeps the loaded site out of the garbage collector's full collections.

A full collection of the loaded site took tens of milliseconds, in some request's answer
time; frozen before serving, those objects are no longer walked (docs/performance.md).
"""

from __future__ import annotations

import gc

from resilience_site.management.commands.up import GC_YOUNG, freeze_loaded


def test_what_is_loaded_before_serving_is_frozen_and_young_objects_collected_less_often() -> None:
    thresholds = gc.get_threshold()
    try:
        freeze_loaded()
        assert gc.get_freeze_count() > 10_000  # the site, its URL configuration and the API
        assert gc.get_threshold()[0] == GC_YOUNG
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
