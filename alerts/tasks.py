from __future__ import annotations

from celery import shared_task

from . import delivery, evaluate


@shared_task
def evaluate_rules() -> None:
    evaluate.evaluate_all()


@shared_task
def evaluate_breakers(function_ids: list[int]) -> None:
    evaluate.evaluate_breakers(function_ids)


@shared_task
def sweep_deliveries() -> None:
    delivery.sweep()
