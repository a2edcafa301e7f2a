"""Inhibition: an alert that another open alert explains is not notified, yet stays visible.

Two sources, decided here and nowhere else:

- Built in: an open "breaker open" alert (metric breaker_open_s) on a function inhibits the
  error-rate (errors, timeouts, rejections), latency and availability alerts on that same
  function. The alert is the source, not the stored breaker state: the alert is what the
  engine decided (its rule's threshold, `for` duration and scope), it fires and resolves in
  the same rounds as the alerts it explains, and it is the thing a reader can open.
- Declared: while a service that a service depends on (`Service.depends_on`) has an open
  critical alert, the alerts on the dependent's functions and queues are inhibited (a
  dependent that stopped reporting is not: its dependency does not explain that).

`decide(alerts)` answers for many alerts in a few queries, whatever their number (the
round's pass, `evaluate.refresh_inhibition`); `inhibitor_for(alert)` answers for one;
`hold(alert, event)` is the one call the notify path makes.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet
from django.utils import timezone

from monitoring import dependencies
from monitoring.models import Service

from .models import OPEN_STATES, Alert, AlertState, Delivery, Metric, Rule, Severity
from .timeline import record

BREAKER_INHIBITS = frozenset(
    {
        Metric.ERROR_RATE,
        Metric.TIMEOUT_RATE,
        Metric.REJECTED_RATE,
        Metric.AVAILABILITY,
        Metric.P50_MS,
        Metric.P95_MS,
        Metric.P99_MS,
    }
)
# A dependency's alert explains its dependents' function and queue alerts, not these.
NOT_BY_DEPENDENCY = frozenset({Metric.REPORTER_SILENT_MINUTES})
# What inhibition holds back; a resolved notice still goes to the channels that heard of the alert.
HELD_EVENTS = ("firing", "reminder")


def decide(alerts: Iterable[Alert]) -> dict[int, Alert]:
    """{alert id: the open alert inhibiting it} for those of `alerts` that have one (the
    breaker on its function first; else the earliest critical alert on a dependency)."""
    alerts = list(alerts)
    breakers = breaker_alerts({a.fingerprint for a in alerts if a.metric in BREAKER_INHIBITS})
    upstream = dependency_alerts({a.service for a in alerts if a.metric not in NOT_BY_DEPENDENCY})
    found = {}
    for alert in alerts:
        inhibitor = breakers.get(alert.fingerprint) if alert.metric in BREAKER_INHIBITS else None
        if inhibitor is None and alert.metric not in NOT_BY_DEPENDENCY:
            inhibitor = upstream.get(alert.service)
        if inhibitor is not None and inhibitor.id != alert.id:
            found[alert.id] = inhibitor
    return found


def inhibitor_for(alert: Alert) -> Alert | None:
    return decide([alert]).get(alert.id)


def open_alerts() -> QuerySet[Alert]:
    # Oldest first: the first one found for a subject or a service is the one named.
    return Alert.objects.filter(state__in=OPEN_STATES).select_related("rule").order_by("started_at", "id")


def breaker_alerts(fingerprints: set[str]) -> dict[str, Alert]:
    """{function fingerprint: its oldest open breaker-open alert}."""
    if not fingerprints:
        return {}
    found: dict[str, Alert] = {}
    for alert in open_alerts().filter(metric=Metric.BREAKER_OPEN_S, fingerprint__in=fingerprints):
        found.setdefault(alert.fingerprint, alert)
    return found


def dependency_alerts(services: set[str]) -> dict[str, Alert]:
    """{service name: the oldest open critical alert on a service it depends on}."""
    if not services:
        return {}
    edges = Service.depends_on.through.objects.filter(from_service__name__in=services)
    edges = list(edges.values_list("from_service__name", "to_service__name"))
    if not edges:
        return {}
    first: dict[str, Alert] = {}
    critical = open_alerts().filter(severity=Severity.CRITICAL, service__in={to for _, to in edges})
    for alert in critical:
        first.setdefault(alert.service, alert)
    found: dict[str, Alert] = {}
    for service, dependency in edges:
        alert, known = first.get(dependency), found.get(service)
        if alert is not None and (known is None or (alert.started_at, alert.id) < (known.started_at, known.id)):
            found[service] = alert
    return found


def reason(alert: Alert, inhibitor: Alert) -> str:
    """Why, in words: "Breaker open on payments/charge", or for a dependency
    "payments-db / Breaker open on query (checkout depends on payments-db)"."""
    if inhibitor.service == alert.service:
        return f"{inhibitor.rule_name} on {inhibitor.service}/{inhibitor.subject}"
    on = "" if inhibitor.subject == inhibitor.service else f" on {inhibitor.subject}"
    return f"{inhibitor.service} / {inhibitor.rule_name}{on} ({alert.service} depends on {inhibitor.service})"


def can_inhibit(rule: Rule) -> bool:
    """Rules whose alerts may inhibit others: a round evaluates them first, so what they
    explain is held from its first notice in that round."""
    return rule.metric == Metric.BREAKER_OPEN_S or rule.severity == Severity.CRITICAL


def depended_on() -> dict[str, int]:
    """{service name: how many services depend on it, directly or through others}. Firing a
    rule's alerts on the most depended-on services first fires each dependency's alert before
    its dependents' (X depends on Y: Y counts X and all that X counts)."""
    graph = dependencies.edges(reverse=True)
    if not graph:
        return {}
    names = dict(Service.objects.filter(id__in=graph).values_list("id", "name"))
    return {name: len(dependencies.reachable(service_id, graph)) for service_id, name in names.items()}


def hold(alert: Alert, event: str) -> bool:
    """The notify path's one check: True when this notice is not to be sent.

    A firing notice or a reminder is held while another alert inhibits this one (the alert
    is marked with it and the timeline says so). A reminder is held too while an ended
    inhibition still owes the alert its firing notice: the round's pass sends that instead.
    """
    if event not in HELD_EVENTS:
        return False
    inhibitor = inhibitor_for(alert)
    if inhibitor is None:
        return event == "reminder" and alert.inhibited_by_id is not None and owes_firing(alert)
    mark(alert, inhibitor)
    record(alert, "not notified", detail=f"{event}: inhibited by {reason(alert, inhibitor)}")
    return True


def owes_firing(alert: Alert) -> bool:
    """Still firing and named in no notice of its incident yet: its channels never heard of it."""
    if alert.state != AlertState.FIRING:
        return False
    if alert.incident_id is None:
        return not alert.deliveries.filter(event__in=HELD_EVENTS).exists()
    sent = Delivery.objects.filter(incident_id=alert.incident_id, event__in=(*HELD_EVENTS, "updated"))
    for message in sent.values_list("message", flat=True).iterator():
        if any(entry.get("id") == alert.id for entry in (message.get("incident") or {}).get("alerts", [])):
            return False
    return True


def mark(alert: Alert, inhibitor: Alert) -> bool:
    """Record that inhibitor now inhibits the alert; False when it already did (or another
    worker changed it first)."""
    if alert.inhibited_by_id == inhibitor.id:
        return False
    now = timezone.now()
    changed = Alert.objects.filter(id=alert.id, inhibited_by=alert.inhibited_by_id).update(
        inhibited_by=inhibitor, inhibited_at=now
    )
    if not changed:
        return False
    alert.inhibited_by, alert.inhibited_at = inhibitor, now
    record(alert, "inhibited", detail=f"by {reason(alert, inhibitor)}: not notified while it lasts")
    return True


def unmark(alert: Alert) -> bool:
    """The inhibition ended; True for the one caller that cleared it."""
    inhibitor = alert.inhibited_by
    if inhibitor is None:
        return False
    changed = Alert.objects.filter(id=alert.id, inhibited_by=inhibitor).update(inhibited_by=None, inhibited_at=None)
    if not changed:
        return False
    alert.inhibited_by, alert.inhibited_at = None, None
    why = "is resolved" if inhibitor.state == AlertState.RESOLVED else "no longer applies"
    record(alert, "inhibition ended", detail=f"{reason(alert, inhibitor)} {why}")
    return True
