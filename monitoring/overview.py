"""What the dashboard shows at a glance: overall figures, the functions most in trouble,
the queues backing up, and the sort orders of the functions table."""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Sum

from alerts.models import Alert, AlertState
from queues.models import Queue, Snapshot

from . import histogram
from .health import Figures, window_start
from .models import Breaker, BreakerState, CallBucket

# Worst first: the order of the "health" sort and of the overview's trouble list.
HEALTH_RANK = {"unhealthy": 0, "degraded": 1, "unknown": 2, "healthy": 3}
BREAKER_RANK = {"open": 0, "half_open": 1, "closed": 2, None: 3}
SORTS: dict[str, Callable[[dict], object]] = {
    "service": lambda row: (row["service"], row["name"]),
    "name": lambda row: (row["name"], row["service"]),
    "health": lambda row: HEALTH_RANK[row["health"]],
    "breaker": lambda row: BREAKER_RANK[row["breaker"]["state"]],
    "calls": lambda row: row["calls_5m"],
    "error_rate": lambda row: row["error_rate_5m"] if row["error_rate_5m"] is not None else -1.0,
    "p95": lambda row: row["p95_ms_5m"] if row["p95_ms_5m"] is not None else -1.0,
    "last_seen": lambda row: row["last_seen"].timestamp() if row["last_seen"] else 0.0,
    "trouble": lambda row: (
        HEALTH_RANK[row["health"]],
        BREAKER_RANK[row["breaker"]["state"]],
        -(row["error_rate_5m"] or 0.0),
        -row["calls_5m"],
    ),
}
SORT_PATTERN = "^-?(" + "|".join(SORTS) + ")$"


def sort_rows(rows: list[dict], sort: str) -> list[dict]:
    """Sort function rows by a SORTS key; a leading "-" reverses it. Ties keep name order."""
    key = SORTS[sort.lstrip("-")]
    return sorted(rows, key=key, reverse=sort.startswith("-"))


def calls_over(minutes: int) -> Figures:
    """All functions' calls in the last minutes, folded (counts only, no histogram)."""
    totals = CallBucket.objects.filter(minute__gte=window_start(minutes)).aggregate(
        success=Sum("success"), failure=Sum("failure"), timeout=Sum("timeout"), rejected=Sum("rejected")
    )
    return Figures(CallBucket(**{name: value or 0 for name, value in totals.items()}))


def p95_over(minutes: int) -> float | None:
    merged: dict[str, int] = {}
    for counts in CallBucket.objects.filter(minute__gte=window_start(minutes)).values_list("histogram", flat=True):
        histogram.merge(merged, counts)
    return histogram.percentile(merged, 0.95)


def success_rate(figures: Figures) -> float | None:
    return None if figures.error_rate is None else 1.0 - figures.error_rate


def open_breakers() -> int:
    """Functions whose breaker is open on at least one instance."""
    return Breaker.objects.filter(state=BreakerState.OPEN).values("function_id").distinct().count()


def queue_growth(queue_ids: list[int], minutes: int = 5) -> dict[int, int]:
    """Depth now minus depth at the start of the window, per queue that reported in it."""
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    snapshots = Snapshot.objects.filter(queue_id__in=queue_ids, at__gte=window_start(minutes)).order_by("at")
    for queue_id, depth in snapshots.values_list("queue_id", "depth"):
        first.setdefault(queue_id, depth)
        last[queue_id] = depth
    return {queue_id: last[queue_id] - first[queue_id] for queue_id in last}


def queues_backing_up(minutes: int = 5) -> list[dict]:
    """Queues whose depth grew over the window and is not empty now, fastest growth first."""
    growth = queue_growth(list(Queue.objects.values_list("id", flat=True)), minutes)
    growing = [queue_id for queue_id, grown in growth.items() if grown > 0]
    queues = Queue.objects.select_related("service").filter(id__in=growing)
    rows = [{"id": q.id, "service": q.service.name, "name": q.name, "growth": growth[q.id]} for q in queues]
    return sorted(rows, key=lambda row: -row["growth"])


def firing_alerts() -> int:
    """Alerts firing and not yet acknowledged."""
    return Alert.objects.filter(state=AlertState.FIRING).count()


def figures() -> dict:
    five, hour = calls_over(5), calls_over(60)
    return {
        "calls_5m": five.calls,
        "success_rate_5m": success_rate(five),
        "calls_1h": hour.calls,
        "success_rate_1h": success_rate(hour),
        "p95_ms_5m": p95_over(5),
        "open_breakers": open_breakers(),
        "queues_backing_up": queues_backing_up(),
        "firing_alerts": firing_alerts(),
    }
