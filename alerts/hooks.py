"""What other apps call into the alerts app."""

from __future__ import annotations

import logging

from kombu.exceptions import OperationalError

from monitoring import outages
from monitoring.models import BreakerFlip

from .tasks import evaluate_breakers

log = logging.getLogger(__name__)


def breakers_flipped(flips: list[BreakerFlip]) -> None:
    """After an ingest batch commits: evaluate the breaker rules for functions whose breaker left closed."""
    ids = sorted({flip.function_id for flip in flips if flip.new_state != "closed"})
    if not ids:
        return
    try:
        evaluate_breakers.delay_on_commit(ids)
    except OperationalError as error:
        # The flips are stored: the periodic evaluation sees them once the broker is back.
        outages.warn(log, "broker", f"breaker rules wait for the periodic evaluation: the broker is down ({error})")
