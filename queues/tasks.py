from __future__ import annotations

from celery import shared_task

from . import retention


@shared_task
def roll_up_old_snapshots() -> None:
    retention.roll_up_snapshots()
    retention.forget_old_hours()
