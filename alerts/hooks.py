"""What other apps call into the alerts app."""

from __future__ import annotations

from monitoring.models import BreakerFlip

from .tasks import evaluate_breakers


def breakers_flipped(flips: list[BreakerFlip]) -> None:
    """After an ingest batch commits: evaluate the breaker rules for functions whose breaker left closed."""
    ids = sorted({flip.function_id for flip in flips if flip.new_state != "closed"})
    if ids:
        evaluate_breakers.delay_on_commit(ids)
