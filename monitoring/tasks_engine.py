"""The task seam: Celery workers in production, in-process on the embedded default.

Chosen once at start from the settings (CELERY_TASK_ALWAYS_EAGER); domain code asks
`task_engine()` and never branches on the engine itself.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from celery import Task
from django.conf import settings
from django.db import transaction
from django.utils import timezone


class CeleryEngine:
    """Tasks go to a broker; a task can wait in it until its time comes."""

    name = "celery"
    # Retries are queued with their countdown; a periodic sweep only picks up lost ones.
    schedules_later = True

    def run_at(self, task: Task, args: tuple, at: datetime) -> None:
        countdown = max(0.0, (at - timezone.now()).total_seconds())
        transaction.on_commit(lambda: task.apply_async(args, countdown=countdown))


class InProcessEngine:
    """Tasks run inline when called; nothing can wait, so the periodic sweep runs what is due."""

    name = "in-process"
    schedules_later = False

    def run_at(self, task: Task, args: tuple, at: datetime) -> None:
        return None


@cache
def task_engine() -> CeleryEngine | InProcessEngine:
    return InProcessEngine() if settings.CELERY_TASK_ALWAYS_EAGER else CeleryEngine()
