"""The alerts' read layer: what both the alert pages and the API show of alerts, their
timelines and their deliveries. Plain functions returning dicts that templates and ninja
schemas both take; lists come back as Rows, sliced in the database one page at a time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import urlencode

from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from ninja import Schema
from pydantic import Field

from monitoring.inputs import Text
from monitoring.models import Function, Service
from monitoring.paging import Rows
from monitoring.projects import User, scoped
from queues.models import Queue

from .inhibition import reason
from .metrics import QUEUE_METRICS
from .models import OPEN_STATES, Alert, AlertState, Delivery, Event, Metric
from .timeline import number


class AlertFilters(Schema):
    state: Literal["firing", "acknowledged", "suppressed", "resolved"] | None = None
    service: Text | None = Field(None, max_length=100)


def alert_out(alert: Alert) -> dict:
    return {
        "id": alert.id,
        # None once the rule is deleted (its alerts outlive it, resolved).
        "rule": {"id": alert.rule_id, "name": alert.rule.name} if alert.rule else None,
        "service": alert.service,
        "subject": alert.subject,
        "metric": alert.metric,
        "severity": alert.severity,
        "state": alert.state,
        "suppressed_until": alert.suppressed_until if alert.is_suppressed() else None,
        "started_at": alert.started_at,
        "acknowledged_at": alert.acknowledged_at,
        "acknowledged_by": alert.acknowledged_by.get_username() if alert.acknowledged_by else None,
        "resolved_at": alert.resolved_at,
        "value": alert.value,
        "threshold": alert.threshold,
        "summary": alert.summary,
        "incident_id": alert.incident_id,
        "flaps": alert.flaps,
        "inhibited_by": inhibited_out(alert),
    }


def inhibited_out(alert: Alert) -> dict | None:
    """The alert inhibiting this one (on a resolved alert: the one that did when it resolved);
    one of a project the person may not see (a service may depend on another project's)
    without its names (see unseen_inhibitors)."""
    inhibitor = alert.inhibited_by
    if inhibitor is None:
        return None
    if getattr(alert, "inhibitor_unseen", False):
        unseen = {"rule": "", "service": "", "subject": "", "reason": UNSEEN_INHIBITOR}
        return {"id": inhibitor.id, "state": inhibitor.state, "since": alert.inhibited_at, **unseen}
    return {
        "id": inhibitor.id,
        "rule": inhibitor.rule_name,
        "service": inhibitor.service,
        "subject": inhibitor.subject,
        "state": inhibitor.state,
        "reason": reason(alert, inhibitor),
        "since": alert.inhibited_at,
    }


UNSEEN_INHIBITOR = "an alert of a project you are not in, on a service this one depends on"


def unseen_inhibitors(alerts: list[Alert], user: User | None) -> list[Alert]:
    """Mark the alerts whose inhibitor is of a project the person may not see (one query for
    them all), so alert_out leaves its names out; returns the alerts."""
    ids = {alert.inhibited_by_id for alert in alerts if alert.inhibited_by_id}
    if ids:
        seen = set(scoped(Alert.objects.filter(id__in=ids), user).values_list("id", flat=True))
        for alert in alerts:
            alert.inhibitor_unseen = alert.inhibited_by_id is not None and alert.inhibited_by_id not in seen
    return alerts


def event_out(event: Event) -> dict:
    return {"at": event.at, "actor": event.actor_name, "action": event.action, "detail": event.detail}


def delivery_out(delivery: Delivery) -> dict:
    return {
        "id": delivery.id,
        "alert_id": delivery.alert_id,
        "channel": delivery.channel.name,
        "channel_id": delivery.channel_id,
        "kind": delivery.channel.kind,
        "event": delivery.event,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "last_error": delivery.last_error,
        "next_attempt_at": delivery.next_attempt_at if delivery.state == "pending" else None,
        "sent_at": delivery.sent_at,
        "created": delivery.created,
    }


def find_alerts(user: User | None, state: str | None = None, service: str | None = None) -> Rows:
    """Alerts of the person's projects in a state ("suppressed": open and under a silence)
    and of a service, newest first."""
    alerts = scoped(Alert.objects.select_related("rule", "acknowledged_by", "inhibited_by__rule"), user)
    if state == "suppressed":
        alerts = alerts.filter(state__in=OPEN_STATES, suppressed_until__gt=timezone.now())
    elif state:
        alerts = alerts.filter(state=state)
    if service:
        alerts = alerts.filter(service=service)
    return Rows(alerts, lambda page: [alert_out(alert) for alert in unseen_inhibitors(list(page), user)])


def find_deliveries(user: User | None, state: str | None = None) -> Rows:
    """Deliveries of the person's projects (their alert's service's), newest first."""
    deliveries = scoped(Delivery.objects.select_related("channel"), user)
    if state:
        deliveries = deliveries.filter(state=state)
    return Rows(deliveries, lambda page: [delivery_out(delivery) for delivery in page])


def get_alert(alert_id: int, user: User | None) -> Alert:
    """The alert, with what alert_out shows of it; 404 if unknown or of a project the person
    may not see."""
    alerts = Alert.objects.select_related("rule", "acknowledged_by", "inhibited_by__rule")
    return unseen_inhibitors([get_object_or_404(scoped(alerts, user), id=alert_id)], user)[0]


def alert_detail(alert_id: int, user: User | None) -> dict:
    """One alert with its timeline and its deliveries; 404 if unknown (or another project's)."""
    return detail_of(get_alert(alert_id, user))


def detail_of(alert: Alert) -> dict:
    events = alert.events.select_related("actor").order_by("at", "id")
    deliveries = alert.deliveries.select_related("channel").order_by("created", "id")
    return {
        **alert_out(alert),
        "timeline": [event_out(e) for e in events],
        "deliveries": [delivery_out(d) for d in deliveries],
    }


# One alert's page: what the alert is about, its chart, how long it has been open, and the
# other alerts on its subject. Only the page shows these; the API's alert stays as it is.

# The chart runs from this long before the alert fired to now, or to this long after it ended.
CHART_BEFORE = timedelta(minutes=30)
CHART_AFTER = timedelta(minutes=10)
# The queue series reads the last so many minutes, no further back.
QUEUE_SERIES_MINUTES = 1440
RELATED_SHOWN = 10


@dataclass(frozen=True)
class Measure:
    """How a chart reads a rule's metric from its subject's series: the point's `field`, and
    `how`: "point" (as it is), "ratio" (over the point's calls), "sum" (added up over the
    rule's window) or "growth" (minus its first value within the rule's window)."""

    field: str
    how: str
    label: str


MEASURES = {
    Metric.ERROR_RATE: Measure("error_rate", "point", "error rate"),
    Metric.TIMEOUT_RATE: Measure("timeout", "ratio", "timeout rate"),
    Metric.REJECTED_RATE: Measure("rejected", "ratio", "rejected rate"),
    Metric.AVAILABILITY: Measure("success", "ratio", "availability"),
    Metric.P50_MS: Measure("p50_ms", "point", "p50 (ms)"),
    Metric.P95_MS: Measure("p95_ms", "point", "p95 (ms)"),
    Metric.P99_MS: Measure("p99_ms", "point", "p99 (ms)"),
    Metric.RETRIES_PER_CALL: Measure("retries_per_call", "point", "retries per call"),
    Metric.CALL_VOLUME: Measure("calls", "sum", "calls in the window"),
    Metric.QUEUE_DEPTH: Measure("depth", "point", "depth"),
    Metric.DEAD_LETTER: Measure("dead_letter", "point", "dead letters"),
    Metric.DEAD_LETTER_GROWTH: Measure("dead_letter", "growth", "dead-letter growth in the window"),
    Metric.OLDEST_PENDING_AGE_S: Measure("oldest_age_s", "point", "oldest message age (s)"),
}
# Metrics with no series to draw, and what the page says instead.
UNCHARTED = {
    Metric.SLO_BURN_RATE: "An SLO's burn rate is read over two windows at once: its SLO page "
    "(under SLOs) charts the error budget, and shows each window's burn rate.",
    Metric.BREAKER_OPEN_S: "How long a breaker has been open has no series, so there is nothing to "
    "chart; the function page shows each instance's breaker and its transitions.",
    Metric.BREAKER_HALF_OPEN_S: "How long a breaker has been half-open has no series, so there is "
    "nothing to chart; the function page shows each instance's breaker and its transitions.",
    Metric.BREAKER_FLIPS: "Breaker flips have no series, so there is nothing to chart; the function "
    "page lists each transition.",
    Metric.CONCURRENCY_UTILISATION: "Concurrency is kept as each instance's latest gauge, not as a "
    "series, so there is nothing to chart.",
    Metric.REPORTER_SILENT_MINUTES: "A silent reporter has nothing to chart: the value is the minutes "
    "since its service last reported anything.",
}


def subject_kind(metric: str) -> str:
    """What an alert on this metric is about: a function, a queue or a whole service."""
    if metric in QUEUE_METRICS:
        return "queue"
    if metric == Metric.REPORTER_SILENT_MINUTES:
        return "service"
    return "function"


def alert_subject(alert: Alert) -> dict:
    """The function, queue or service the alert is about, found by its names; `url` is None
    when it no longer exists. `topic` names the live deltas its figures change with."""
    kind = subject_kind(alert.metric)
    name = alert.service if kind == "service" else f"{alert.service} / {alert.subject}"
    found = {"kind": kind, "name": name, "id": None, "url": None, "service_id": None, "topic": None}
    if kind == "service":
        service_id = Service.objects.filter(name=alert.service).values_list("id", flat=True).first()
        if service_id is not None:
            url = reverse("functions") + "?" + urlencode({"service": alert.service})
            found |= {"id": service_id, "url": url, "service_id": service_id, "topic": f"service:{service_id}"}
        return found
    model = Queue if kind == "queue" else Function
    row = model.objects.filter(service__name=alert.service, name=alert.subject).values_list("id", "service_id").first()
    if row is not None:
        subject_id, service_id = row
        topic = f"queue-service:{service_id}" if kind == "queue" else f"service:{service_id}"
        found |= {"id": subject_id, "url": reverse(kind, args=[subject_id]), "service_id": service_id, "topic": topic}
    return found


def alert_chart(alert: Alert, subject: dict, now: datetime) -> dict:
    """What the page's chart draws: the subject's series from CHART_BEFORE the alert fired
    to now (`end` None) or to CHART_AFTER it ended, with the threshold, or why there is none."""
    start = alert.started_at - CHART_BEFORE
    end = min(alert.resolved_at + CHART_AFTER, now) if alert.resolved_at else None
    rule = alert.rule  # None once deleted: its window and resolve threshold are gone with it
    resolve_threshold = rule.resolve_threshold if rule else None
    chart = {
        "start": start,
        "end": end,
        "threshold": alert.threshold,
        "resolve_threshold": resolve_threshold,
        "resolve_text": number(resolve_threshold),
        "window_minutes": rule.window_minutes if rule else None,
        "measure": MEASURES.get(alert.metric),
        "series_url": None,
        "cut": False,
        "missing": UNCHARTED.get(alert.metric, ""),
    }
    if chart["measure"] is None:
        return chart
    if rule is None and chart["measure"].how in ("sum", "growth"):
        return chart | {
            "missing": "The rule was deleted, and with it the window its value was added up over: nothing to chart."
        }
    if subject["url"] is None:
        return chart | {"missing": f"The {subject['kind']} is gone, and its series with it: nothing to chart."}
    if subject["kind"] == "queue":
        reach = now - timedelta(minutes=QUEUE_SERIES_MINUTES)
        if end is not None and end <= reach:
            return chart | {
                "missing": "Queue snapshots are charted back 24 hours at most, and this alert ended before that."
            }
        chart["cut"] = start < reach
    name = "api:queue_series" if subject["kind"] == "queue" else "api:function_series"
    return chart | {"series_url": reverse(name, args=[subject["id"]])}


def fired_value(alert: Alert) -> str | None:
    """The value when the alert fired, as its summary words it (see lifecycle.describe)."""
    found = re.match(rf"{re.escape(alert.metric)} is (\S+) \(", alert.summary)
    return found.group(1) if found else None


def duration(seconds: float) -> str:
    """A span in words, to the minute: "less than a minute", "12 min", "3 h 5 min", "2 d 4 h"."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "less than a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    days, hours = divmod(hours, 24)
    return f"{days} d" + (f" {hours} h" if hours else "")


def related_alerts(alert: Alert) -> dict:
    """The latest other alerts on the same subject (service and subject), newest first, and
    whether there are more."""
    others = Alert.objects.filter(service=alert.service, subject=alert.subject).exclude(id=alert.id)
    found = list(others.select_related("rule").order_by("-started_at", "-id")[: RELATED_SHOWN + 1])
    items = [
        {"id": a.id, "rule": a.rule_name, "state": a.state, "severity": a.severity, "started_at": a.started_at}
        for a in found[:RELATED_SHOWN]
    ]
    return {"items": items, "more": len(found) > RELATED_SHOWN}


def alert_state(alert_id: int, user: User | None, now: datetime | None = None) -> dict:
    """One alert's detail as its page's state shows it: how long it has been open, the
    value when it fired beside the latest one, and when an acknowledgement lapses."""
    return state_of(get_alert(alert_id, user), now or timezone.now())


def state_of(alert: Alert, now: datetime) -> dict:
    open_s = ((alert.resolved_at or now) - alert.started_at).total_seconds()
    return {
        **detail_of(alert),
        "op": alert.rule.op if alert.rule else "",
        # Worded as the summary words the value it fired with (see lifecycle.describe).
        "value_text": number(alert.value),
        "threshold_text": number(alert.threshold),
        "ack_expires_at": alert.ack_expires_at if alert.state == AlertState.ACKNOWLEDGED else None,
        "fired_value": fired_value(alert),
        "open_s": int(open_s),
        "open_for": duration(open_s),
    }


def alert_page(alert_id: int, user: User | None, now: datetime | None = None) -> dict:
    """One alert as its page shows it: its state, its subject, its chart and related alerts."""
    return page_of(get_alert(alert_id, user), now or timezone.now())


def page_of(alert: Alert, now: datetime) -> dict:
    subject = alert_subject(alert)
    return {
        **state_of(alert, now),
        "subject_link": subject,
        "chart": alert_chart(alert, subject, now),
        "related": related_alerts(alert),
    }
