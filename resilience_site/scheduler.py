"""The embedded default's stand-in for Celery beat: one thread that runs the periodic jobs."""

from __future__ import annotations

import logging
import threading
import time

from django.db import close_old_connections
from django.utils.module_loading import import_string

from .periodic import JOBS

log = logging.getLogger(__name__)


def run_job(task_path: str) -> None:
    close_old_connections()
    try:
        import_string(task_path)()
    except Exception:
        log.exception("periodic job %s failed", task_path)
    finally:
        close_old_connections()


def loop(stop: threading.Event, tick: float = 1.0) -> None:
    next_run = {name: 0.0 for name in JOBS}
    while not stop.is_set():
        now = time.monotonic()
        for name, (task_path, every) in JOBS.items():
            if now >= next_run[name]:
                next_run[name] = now + every
                run_job(task_path)
        stop.wait(tick)


def start() -> threading.Event:
    stop = threading.Event()
    threading.Thread(target=loop, args=(stop,), name="scheduler", daemon=True).start()
    log.info("scheduler started: %s", ", ".join(JOBS))
    return stop
