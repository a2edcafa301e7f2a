"""GET /metrics: the monitor's figures in the Prometheus text format, read from the database
at each scrape (several processes serve the site: none of them holds counters of its own).

Who may scrape: a personal token with the metrics:read scope (`Authorization: Bearer`), or
anybody from a network in MONITOR_METRICS_ALLOW_NETWORKS. The families are listed in
docs/prometheus.md. A token's scrape holds its person's projects only (the owner's: every
one), each query filtered once by project (monitoring/projects.py); a scrape from an
allowed network holds the whole installation.

The text is written here, not by prometheus_client's generate_latest: for 10,000 functions
(about 220,000 samples) building its metric families and generate_latest took 1.9 s, and
writing the same lines with each function's labels escaped once 0.26 s (6.9 s and 0.47 s
when the machine was busier; docs/performance.md, "Prometheus scrape"). The format is
prometheus_client's text format 0.0.4: its float formatting, its escaping, labels in name
order; tests parse every scrape with its parser and check it with promtool.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from django.conf import settings
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.utils import floatToGoString

from alerts.models import Alert, AlertState, Delivery, DeliveryState, Severity
from monitoring import totals
from monitoring.auth import TooManyFailures, client_address, token_failed
from monitoring.models import Breaker, Concurrency, Function, Refusal, RefusalReason, TokenScope, UserToken
from monitoring.projects import User, scoped
from queues.models import Queue, Snapshot

from .errors import error_response

OUTCOMES = ("success", "failure", "timeout", "rejected")
BREAKER_VALUES = {"closed": 0, "open": 1, "half_open": 2}
OPEN_STATES = (AlertState.FIRING, AlertState.ACKNOWLEDGED)
# Six significant digits: the stored edges to a millionth of their value, read at a glance.
LE = [*(f"{bound / 1000:.6g}" for bound in totals.BOUNDS_MS), "+Inf"]


def escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def labels(**values: str) -> str:
    """Label pairs in name order, values escaped (as prometheus_client writes them)."""
    return ",".join(f'{name}="{escape(values[name])}"' for name in sorted(values))


def number(value: float | None) -> str:
    return str(value) if isinstance(value, int) else floatToGoString(value)


class Exposition:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str) -> None:
        self.lines.append(f"# HELP {name} {help_text}\n# TYPE {name} {kind}\n")

    def sample(self, name: str, label_text: str, value: float | None) -> None:
        self.lines.append(f"{name}{{{label_text}}} {number(value)}\n" if label_text else f"{name} {number(value)}\n")

    def gauge(self, name: str, help_text: str, rows: Iterable[tuple[str, float | None]]) -> None:
        self.family(name, "gauge", help_text)
        for label_text, value in rows:
            self.sample(name, label_text, value)

    def text(self) -> bytes:
        return "".join(self.lines).encode()


def mine(queryset: QuerySet, user: User | None, path: str | None = None) -> QuerySet:
    """The rows a scrape holds: all of them from an allowed network (user None), else those of
    the token's person's projects (an owner's: all of them)."""
    return queryset if user is None else scoped(queryset, user, path)


def function_families(out: Exposition, user: User | None) -> None:
    # The hot loop of a scrape (about 22 lines per function): each function's labels are
    # escaped once, and the lines are appended without a call per sample.
    names = {
        fid: labels(service=s, function=f)
        for fid, s, f in mine(Function.objects.all(), user).values_list("id", "service__name", "name")
    }
    counted = totals.current()
    empty = totals.Total()
    rows = [(names[fid], counted.get(fid, empty)) for fid in sorted(names, key=names.get)]
    add = out.lines.append
    out.family("resilience_calls_total", "counter", "Calls reported, by outcome, since the monitor began counting.")
    for label_text, total in rows:
        for outcome in OUTCOMES:
            add(f'resilience_calls_total{{{label_text},outcome="{outcome}"}} {getattr(total, outcome)}\n')
    out.family("resilience_call_retries_total", "counter", "Retries the reported calls made.")
    for label_text, total in rows:
        add(f"resilience_call_retries_total{{{label_text}}} {total.retries}\n")
    name = "resilience_call_duration_seconds"
    out.family(name, "histogram", "Latency of the reported calls (bounds are stored bucket edges).")
    for label_text, total in rows:
        seen = 0
        for le, count in zip(LE, total.bins, strict=True):
            seen += count
            add(f'{name}_bucket{{{label_text},le="{le}"}} {seen}\n')
        add(f"{name}_sum{{{label_text}}} {number(total.latency_sum_ms / 1000)}\n")
        add(f"{name}_count{{{label_text}}} {seen}\n")


def instance_families(out: Exposition, user: User | None) -> None:
    def key(row: tuple) -> str:
        return labels(service=row[0], function=row[1], instance=row[2])

    who = ("function__service__name", "function__name", "instance")
    path = "function__service__project"
    breakers = sorted(mine(Breaker.objects.all(), user, path).values_list(*who, "state"))
    out.gauge(
        "resilience_breaker_state",
        "Circuit breaker state per instance: 0 closed, 1 open, 2 half-open.",
        ((key(row), BREAKER_VALUES[row[3]]) for row in breakers),
    )
    gauges = sorted(mine(Concurrency.objects.all(), user, path).values_list(*who, "active", "limit", "queued"))
    for index, part in enumerate(("active", "limit", "queued"), start=3):
        out.gauge(
            f"resilience_concurrency_{part}",
            f"Concurrency {part} per instance, as last reported.",
            ((key(row), row[index]) for row in gauges),
        )


def queue_families(out: Exposition, user: User | None) -> None:
    newest = Snapshot.objects.filter(queue=OuterRef("pk")).order_by("-at").values("id")[:1]
    latest = mine(Queue.objects.all(), user).annotate(latest_id=Subquery(newest)).filter(latest_id__isnull=False)
    names = {q.latest_id: labels(service=q.service.name, queue=q.name) for q in latest.select_related("service")}
    snapshots = sorted(Snapshot.objects.filter(id__in=names), key=lambda s: names[s.id])
    parts = (
        ("depth", "depth", "Messages waiting in the queue, as last reported."),
        ("in_flight", "in_flight", "Messages being worked on, as last reported."),
        ("dead_letters", "dead_letter", "Messages in the dead-letter list, as last reported."),
        ("oldest_age_seconds", "oldest_age_s", "Age of the oldest waiting message, as last reported."),
    )
    for suffix, field, help_text in parts:
        rows = [(names[s.id], getattr(s, field)) for s in snapshots if getattr(s, field) is not None]
        out.gauge(f"resilience_queue_{suffix}", help_text, rows)


def alert_families(out: Exposition, user: User | None) -> None:
    # An alert's and a delivery's project is the one of the service they name.
    open_alerts = (
        mine(Alert.objects.filter(state__in=OPEN_STATES), user)
        .values_list("state", "severity")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {(state, severity): n for state, severity, n in open_alerts}
    out.gauge(
        "resilience_alerts_open",
        "Open alerts by state (firing, acknowledged) and severity.",
        (
            (labels(severity=severity, state=state), counts.get((state, severity), 0))
            for severity in Severity.values
            for state in OPEN_STATES
        ),
    )
    by_state = dict(mine(Delivery.objects.all(), user).values_list("state").annotate(n=Count("id")).order_by())
    out.gauge(
        "resilience_deliveries",
        "Notification deliveries kept (MONITOR_DELIVERY_RETENTION_DAYS), by state.",
        ((labels(state=state), by_state.get(state, 0)) for state in DeliveryState.values),
    )


def ingest_families(out: Exposition, user: User | None) -> None:
    today = mine(Refusal.objects.filter(day=timezone.now().date()), user)
    today = today.values_list("service__name", "reason", "count")
    out.family(
        "resilience_ingest_refused_batches_total",
        "counter",
        f"Ingest batches refused today (UTC; 0 again each day), by reason: {', '.join(RefusalReason.values)}.",
    )
    for service, reason, count in sorted(today):
        out.sample("resilience_ingest_refused_batches_total", labels(service=service, reason=reason), count)


def exposition(user: User | None = None) -> bytes:
    """The scrape: of the person's projects, or (user None: an allowed network) of everything."""
    out = Exposition()
    for families in (function_families, instance_families, queue_families, alert_families, ingest_families):
        families(out, user)
    return out.text()


def allowed_network(request: HttpRequest) -> bool:
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        return False
    return any(address in network for network in settings.MONITOR_METRICS_ALLOW_NETWORKS)


def refusal(request: HttpRequest) -> HttpResponse | None:
    """None when the caller may scrape, else the answer saying why not. A token's person is
    left on request.scraper (None from an allowed network without a token)."""
    request.scraper = None
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and raw.strip():
        token = UserToken.find(raw.strip())
        if token is None or not token.user.is_active:
            token_failed(request)
            return error_response(401, "the token is not valid (revoked, or never was)", WWW_Authenticate="Bearer")
        if token.scope != TokenScope.METRICS_READ:
            return error_response(403, "this token cannot read /metrics: create one with the metrics:read scope")
        token.touch()
        request.scraper = token.user
        return None
    if allowed_network(request):
        return None
    if settings.MONITOR_METRICS_ALLOW_NETWORKS:
        return error_response(
            403,
            "scrapes without a token are allowed from MONITOR_METRICS_ALLOW_NETWORKS only: send a metrics:read token",
        )
    return error_response(
        401, "send a token with the metrics:read scope: Authorization: Bearer …", WWW_Authenticate="Bearer"
    )


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    try:
        refused = refusal(request)
    except TooManyFailures as error:
        return error_response(429, str(error), Retry_After=str(error.retry_after))
    if refused is not None:
        return refused
    return HttpResponse(exposition(request.scraper), content_type=CONTENT_TYPE_PLAIN_0_0_4)
