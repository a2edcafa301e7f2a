"""What the dashboard shows at a glance: overall figures, the functions most in trouble,
the queues backing up and the alerts firing, composed from every app's read layer."""

from __future__ import annotations

from alerts.models import Alert, AlertState
from monitoring.health import stale_before
from monitoring.models import Function
from monitoring.read import calls_over, in_trouble, open_breakers, p95_over, success_rate
from queues.read import queues_backing_up


def firing_alerts() -> int:
    """Alerts firing and not yet acknowledged."""
    return Alert.objects.filter(state=AlertState.FIRING).count()


def stale_functions() -> int:
    """Functions that reported once and have stopped: counted apart, not as healthy."""
    return Function.objects.filter(last_seen__lt=stale_before()).count()


def figures() -> dict:
    five, hour = calls_over(5), calls_over(60)
    return {
        "calls_5m": five.calls,
        "success_rate_5m": success_rate(five),
        "calls_1h": hour.calls,
        "success_rate_1h": success_rate(hour),
        "p95_ms_5m": p95_over(5),
        "open_breakers": open_breakers(),
        "stale_functions": stale_functions(),
        "queues_backing_up": queues_backing_up(),
        "firing_alerts": firing_alerts(),
    }


def overview_figures() -> dict:
    return {**figures(), "functions": Function.objects.count(), "trouble": in_trouble()}
