from __future__ import annotations

from celery import shared_task

from . import delivery, evaluate


@shared_task
def evaluate_rules() -> None:
    evaluate.evaluate_all()


@shared_task
def evaluate_breakers(function_ids: list[int]) -> None:
    evaluate.evaluate_breakers(function_ids)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def deliver(delivery_id: int) -> None:
    delivery.send(delivery_id)


@shared_task
def sweep_deliveries() -> None:
    delivery.sweep()
