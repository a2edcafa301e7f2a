"""What the dashboard shows at a glance: overall figures, the functions most in trouble,
the queues backing up and the alerts firing, composed from every app's read layer.

Of the projects the person may see: the owner gets the whole fleet's figures; anyone else
those of their projects' services (monitoring/projects.py).
"""

from __future__ import annotations

from django.db.models import QuerySet

from alerts.models import Alert, AlertState
from monitoring.health import stale_before
from monitoring.models import Function
from monitoring.projects import User, is_owner, scoped
from monitoring.read import calls_over, in_trouble, open_breakers, p95_over, success_rate
from queues.models import Queue
from queues.read import queues_backing_up


def firing_alerts(user: User | None) -> int:
    """Alerts firing and not yet acknowledged, of the person's projects (an alert's project is
    its service's; one on a service no project holds counts as the default project's)."""
    return scoped(Alert.objects.filter(state=AlertState.FIRING), user).count()


def stale_functions(functions: QuerySet[Function]) -> int:
    """Functions that reported once and have stopped: counted apart, not as healthy."""
    return functions.filter(last_seen__lt=stale_before()).count()


def figures(user: User | None) -> dict:
    whole = is_owner(user)
    functions = Function.objects.all() if whole else scoped(Function.objects.all(), user)
    only = None if whole else functions
    five, hour = calls_over(5, only), calls_over(60, only)
    return {
        "calls_5m": five.calls,
        "success_rate_5m": success_rate(five),
        "calls_1h": hour.calls,
        "success_rate_1h": success_rate(hour),
        "p95_ms_5m": p95_over(5, only),
        "open_breakers": open_breakers(only),
        "stale_functions": stale_functions(functions),
        "queues_backing_up": queues_backing_up(
            None if whole else scoped(Queue.objects.select_related("service"), user)
        ),
        "firing_alerts": firing_alerts(user),
    }


def overview_figures(user: User | None) -> dict:
    """The overview's figures for what the person may see."""
    functions = Function.objects.all() if is_owner(user) else scoped(Function.objects.all(), user)
    trouble = in_trouble(functions=None if is_owner(user) else functions.select_related("service"))
    return {**figures(user), "functions": functions.count(), "trouble": trouble}
