"""One evaluation round: every enabled rule on every subject in scope.

Reads are bounded (see `metrics.Round`); the comparisons run in Python; alerts fire and
resolve through `lifecycle`, whose conditional updates let two rounds overlap safely.
"""

from __future__ import annotations

import logging
import operator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from . import health_flags, incidents, inhibition, lifecycle, silences
from .lifecycle import Observation
from .metrics import BREAKER_METRICS, Round, Wanted
from .models import OPEN_STATES, Alert, Breach, Rule
from .timeline import record

log = logging.getLogger(__name__)

OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


@dataclass
class Outcome:
    fired: int = 0
    resolved: int = 0
    reminded: int = 0


def passes(rule: Rule, value: float | None) -> bool:
    return value is not None and OPS[rule.op](value, rule.threshold)


def still_passes(rule: Rule, value: float | None) -> bool:
    """While firing, the alert holds until the value no longer passes the resolve threshold."""
    threshold = rule.threshold if rule.resolve_threshold is None else rule.resolve_threshold
    return value is not None and OPS[rule.op](value, threshold)


def ripe(rule: Rule, observations: dict[str, Observation], round: Round) -> list[Observation]:
    """Observations that passed for the rule's `for` duration; tracks the ones still waiting."""
    breaching = {fp: o for fp, o in observations.items() if passes(rule, o.value)}
    if not rule.for_seconds:
        return list(breaching.values())
    since = dict(Breach.objects.filter(rule=rule).values_list("fingerprint", "since"))
    gone = [fp for fp in since if fp not in breaching and round.covers(fp)]
    if gone:
        Breach.objects.filter(rule=rule, fingerprint__in=gone).delete()
    new = [Breach(rule=rule, fingerprint=fp, since=round.now) for fp in breaching if fp not in since]
    Breach.objects.bulk_create(new, ignore_conflicts=True)
    wait = timedelta(seconds=rule.for_seconds)
    return [o for fp, o in breaching.items() if fp in since and round.now - since[fp] >= wait]


def resolve_after() -> timedelta:
    return timedelta(seconds=settings.MONITOR_RESOLVE_AFTER_S)


def evaluate_rule(rule: Rule, round: Round) -> Outcome:
    outcome = Outcome()
    open_alerts = Alert.objects.filter(rule=rule, state__in=OPEN_STATES).select_related("rule")
    if round.function_ids is not None:
        open_alerts = open_alerts.filter(fingerprint__in=round.fingerprints())
    opened = {alert.fingerprint: alert for alert in open_alerts}
    # Only what can change an alert: the open ones' values, and the values that pass (they
    # fire, or start or keep a breach); the rest of the fleet's are not built.
    observations = round.observe(rule, Wanted(lambda value: passes(rule, value), opened.keys()))
    changed = []
    for fingerprint, alert in opened.items():
        observation = observations.get(fingerprint)
        value = observation.value if observation else None
        before = (alert.value, alert.clear_since, alert.flaps)
        if still_passes(rule, value):
            came_back(alert, round.now)
            keep_firing(alert, round)
        elif cleared_long_enough(alert, round.now):
            outcome.resolved += lifecycle.resolve(alert, value=value)
            continue
        alert.value = value
        if (alert.value, alert.clear_since, alert.flaps) != before:
            changed.append(alert)
    Alert.objects.bulk_update(changed, ["value", "clear_since", "flaps"])
    fired = ripe(rule, observations, round)
    if fired and inhibition.can_inhibit(rule):
        # Dependencies first: their alerts exist when their dependents' fire, which are held.
        weight = inhibition.depended_on()
        fired.sort(key=lambda observation: -weight.get(observation.service, 0))
    for observation in fired:
        if observation.fingerprint not in opened:
            outcome.fired += lifecycle.fire(rule, observation) is not None
    return outcome


def cleared_long_enough(alert: Alert, now: datetime) -> bool:
    """Hysteresis: an alert resolves once its condition has stayed clear MONITOR_RESOLVE_AFTER_S,
    so a short window (or a breaker opening and closing) cannot resolve and fire it again."""
    if alert.clear_since is None:
        alert.clear_since = now
    return now - alert.clear_since >= resolve_after()


def came_back(alert: Alert, now: datetime) -> None:
    """The condition holds again before the alert resolved: it flaps, and stays one alert."""
    if alert.clear_since is None:
        return
    alert.clear_since = None
    alert.flaps += 1
    if alert.flaps == 1:
        # One line, not one per flap: the count on the alert says how often.
        record(alert, "flapping", detail="the condition cleared and came back; it stays this one alert")


def keep_firing(alert: Alert, round: Round) -> None:
    if alert.ack_expires_at is not None and alert.ack_expires_at <= round.now:
        lifecycle.unacknowledge(alert, detail="still firing after the reminder time")


def refresh_suppression(now: datetime | None = None) -> None:
    """Show silences that began or ended (maintenance windows, recurring windows) on the open
    alerts; end the expire-on-resolve silences whose alerts are all resolved."""
    now = now or timezone.now()
    windows = silences.active(now)
    alerts = Alert.objects.filter(state__in=OPEN_STATES)
    if not windows:
        # Only alerts still marked suppressed can change: by a silence that ran out, or
        # one ended early (its end time still on the alert).
        alerts = alerts.filter(suppressed_until__isnull=False)
    alerts = list(alerts)
    for alert in alerts:
        until = silences.until_for(windows, alert)
        if until != alert.suppressed_until:
            lifecycle.set_suppression(alert, until)
    if windows:
        silences.end_resolved(windows, alerts, now)


def refresh_inhibition(fingerprints: list[str] | None = None) -> None:
    """Mark the open alerts that another alert now inhibits; release the ones nothing
    inhibits any more (sending the firing notice they were owed). Set-based: a few queries."""
    alerts = Alert.objects.filter(state__in=OPEN_STATES).select_related("rule", "inhibited_by__rule")
    if fingerprints is not None:
        alerts = alerts.filter(fingerprint__in=fingerprints)
    alerts = list(alerts)
    decided = inhibition.decide(alerts)
    for alert in alerts:
        inhibitor = decided.get(alert.id)
        if (inhibitor.id if inhibitor else None) != alert.inhibited_by_id:
            lifecycle.set_inhibition(alert, inhibitor)


def evaluate_all(rules: list[Rule] | None = None, function_ids: set[int] | None = None) -> Outcome:
    round = Round(function_ids=function_ids)
    total = Outcome()
    if function_ids is None:
        refresh_suppression(round.now)
    rules = list(rules if rules is not None else Rule.objects.configured().filter(enabled=True))
    # Rules whose alerts can inhibit others first: what they explain is held from the start.
    rules.sort(key=lambda rule: not inhibition.can_inhibit(rule))
    for rule in rules:
        try:
            outcome = evaluate_rule(rule, round)
        except Exception:
            # One broken rule must not stop the others from being evaluated.
            log.exception("evaluating rule %s (%s) failed", rule.id, rule.name)
            continue
        total.fired += outcome.fired
        total.resolved += outcome.resolved
        total.reminded += outcome.reminded
    refresh_inhibition(None if function_ids is None else round.fingerprints())
    # Breaches began or cleared in this round without an alert changing: write them down.
    health_flags.refresh(function_ids)
    # Incident notices whose group wait is over (no task waits for them in-process), and reminders.
    incidents.flush_due()
    if function_ids is None:
        total.reminded += incidents.remind_due()
    return total


def evaluate_breakers(function_ids: list[int]) -> Outcome:
    """Evaluate the breaker rules for these functions at once (a breaker flipped at ingest)."""
    rules = list(Rule.objects.filter(enabled=True, metric__in=BREAKER_METRICS))
    if not rules or not function_ids:
        return Outcome()
    return evaluate_all(rules, set(function_ids))
