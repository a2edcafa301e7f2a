"""The SLO round: every enabled SLO's burn-rate alerts, read from the stored buckets.

A pair of windows both at or over its burn rate fires an alert through `lifecycle.fire`
(so it joins an incident, and notifications, silences, inhibition and reminders apply as
for any rule's); it resolves once
both windows are under the rate again. Run as its own periodic job: its shortest window
is minutes long, so it need not run as often as the rules' round. Every SLO's windows are
read at once (slo_sums.py), so a round costs a few statements whatever the number of SLOs.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from . import burn, lifecycle, slo_read, slo_sums
from .evaluate import Outcome
from .lifecycle import Observation
from .models import SLO, Alert, Metric, Rule
from .rule_changes import stop

log = logging.getLogger(__name__)


def evaluate_slo(
    slo: SLO, now: datetime, status: slo_read.Status | None = None, moved: list[Alert] | None = None
) -> Outcome:
    """The SLO's alerts fired, resolved or kept; an open alert's new burn rate is written at
    once, or added to `moved` for the caller to write with the others' in one statement."""
    outcome = Outcome()
    status = status or slo_read.status(slo, now, budget=False)
    readings = {r.alert.name: r for r in status.readings}
    for name, alert in status.open_alerts.items():
        reading = readings.get(name)
        if reading is None or reading.clear:
            # A window the SLO no longer has clears too.
            value = reading.long_burn if reading else None
            outcome.resolved += lifecycle.resolve(alert, value=value)
            continue
        if reading.long_burn != alert.value:
            alert.value = reading.long_burn
            if moved is None:
                Alert.objects.filter(id=alert.id).update(value=alert.value)
            else:
                moved.append(alert)
        if alert.ack_expires_at is not None and alert.ack_expires_at <= now:
            lifecycle.unacknowledge(alert, detail="still burning after the reminder time")
        # Reminders are per incident: the rules' round sends them (incidents.remind_due).
    for name, reading in readings.items():
        if reading.breaching and name not in status.open_alerts:
            observation = Observation(
                fingerprint=slo_read.fingerprint(slo, name),
                service=slo_read.service_name(slo),
                subject=slo_read.subject(slo),
                value=reading.long_burn,
                severity=reading.alert.severity,
                threshold=reading.alert.burn_rate,
                summary=f"{slo.name}: {burn.summary(reading, slo.window)}"[:500],
            )
            outcome.fired += lifecycle.fire(slo.rule, observation) is not None
    return outcome


def forget_orphans() -> None:
    """An SLO goes with its function or service: its rule's alerts resolve, the rule goes."""
    for rule in Rule.objects.filter(metric=Metric.SLO_BURN_RATE, slo__isnull=True):
        with transaction.atomic():
            stop(rule, None, f"the SLO of “{rule.name}” went with its function or service")
            rule.delete()


def evaluate_slos(now: datetime | None = None) -> Outcome:
    now = now or timezone.now()
    forget_orphans()
    total = Outcome()
    # Plain values for every enabled SLO, not model instances (a round reads them all).
    slos = slo_read.evaluated()
    # Every SLO's windows and open alerts read at once, not a few statements per SLO.
    wanted = {slo: slo_read.spans_of(slo.alerts, slo.window, budget=False) for slo in slos}
    counts = slo_sums.round_counts(wanted, now)
    alerts = slo_read.every_open_alerts(slos, lambda slo: slo.alerts)
    # Only an SLO with an open alert (it may resolve, move or lose its acknowledgement) or a
    # pair of windows breaching (it fires) can change anything: the others are done here.
    busy = [slo.id for slo in slos if alerts[slo.id] or slo_read.breaching(slo, counts[slo.id])]
    moved: list[Alert] = []
    for slo in slo_read.listed().filter(id__in=busy, enabled=True) if busy else ():
        try:
            found = counts[slo.id]
            if not set(slo_read.spans(slo, budget=False)) <= found.keys():
                continue  # its alerts were edited since the round read it: the next round reads them
            status = slo_read.status_of(slo, now, found, alerts[slo.id])
            outcome = evaluate_slo(slo, now, status, moved)
        except Exception:
            # One broken SLO must not stop the others from being evaluated.
            log.exception("evaluating SLO %s (%s) failed", slo.id, slo.name)
            continue
        total.fired += outcome.fired
        total.resolved += outcome.resolved
        total.reminded += outcome.reminded
    # The open alerts' burn rates move every round: written in one statement, not one an alert.
    Alert.objects.bulk_update(moved, ["value"])
    return total
