from __future__ import annotations

from celery import shared_task

from . import delivery, escalation, evaluate, retention, slo_evaluate


@shared_task
def evaluate_rules() -> None:
    evaluate.evaluate_all()


@shared_task
def evaluate_slos() -> None:
    slo_evaluate.evaluate_slos()


@shared_task
def escalate_incidents() -> None:
    escalation.escalate_due()


@shared_task
def evaluate_breakers(function_ids: list[int]) -> None:
    evaluate.evaluate_breakers(function_ids)


@shared_task
def sweep_deliveries() -> None:
    delivery.sweep()


@shared_task
def forget_old_history() -> None:
    retention.forget_old_history()
