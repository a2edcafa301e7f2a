from __future__ import annotations

from celery import shared_task

from . import retention, rollups, totals
from .models import Heartbeat


@shared_task
def record_heartbeat() -> None:
    Heartbeat.beat("scheduler")


@shared_task
def roll_up_old_metrics() -> None:
    retention.roll_up_calls()
    retention.forget_old_hours()


@shared_task
def forget_old_batches() -> None:
    retention.forget_old_batches()
    retention.forget_old_refusals()
    retention.forget_quiet_streams()


@shared_task
def forget_old_breaker_flips() -> None:
    retention.forget_old_flips()


@shared_task
def fold_call_totals() -> None:
    totals.fold()


@shared_task
def fold_service_rollups() -> None:
    rollups.fold()
    rollups.forget_old()
