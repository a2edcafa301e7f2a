"""The periodic jobs, listed once.

Celery beat runs them in production; the embedded default runs them from a thread
(`resilience_site.scheduler`). Each entry: name -> (task path, every so many seconds).
"""

from __future__ import annotations

from .env import envfloat

EVALUATION_INTERVAL_S = envfloat("MONITOR_EVALUATION_INTERVAL_S", 15.0, minimum=1.0)

JOBS: dict[str, tuple[str, float]] = {
    "heartbeat": ("monitoring.tasks.record_heartbeat", 15.0),
    "roll-up-old-metrics": ("monitoring.tasks.roll_up_old_metrics", 3600.0),
    "roll-up-old-snapshots": ("queues.tasks.roll_up_old_snapshots", 3600.0),
    "forget-old-batches": ("monitoring.tasks.forget_old_batches", 3600.0),
    "forget-old-breaker-flips": ("monitoring.tasks.forget_old_breaker_flips", 3600.0),
    "forget-old-alert-history": ("alerts.tasks.forget_old_history", 3600.0),
    "evaluate-rules": ("alerts.tasks.evaluate_rules", EVALUATION_INTERVAL_S),
    "sweep-deliveries": ("alerts.tasks.sweep_deliveries", 30.0),
    "fold-call-totals": ("monitoring.tasks.fold_call_totals", 60.0),
    "fold-service-rollups": ("monitoring.tasks.fold_service_rollups", 60.0),
    "evaluate-slos": ("alerts.tasks.evaluate_slos", 60.0),
    "escalate-incidents": ("alerts.tasks.escalate_incidents", EVALUATION_INTERVAL_S),
}


def beat_schedule() -> dict[str, dict]:
    return {name: {"task": task, "schedule": every} for name, (task, every) in JOBS.items()}
