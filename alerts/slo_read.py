"""What the SLO pages and endpoints show: an SLO's budget left, its burn rates per alert
window with each alert's state, and the budget over its window. Evaluation reads the same."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from monitoring.ranges import HOUR, floor

from . import burn, slo_counts
from .burn import BurnAlert, Counts, Reading
from .models import OPEN_STATES, SLO, Alert, Metric, Objective

# "Current burn rate" on the list: over the last hour, as the fast alert reads it by default.
CURRENT = timedelta(hours=1)


def fingerprint(slo: SLO | Evaluated, alert_name: str) -> str:
    return f"slo:{slo.id}:{alert_name}"


def listed() -> QuerySet[SLO]:
    return SLO.objects.select_related("function__service", "service", "rule", "project")


def scope_text(slo: SLO) -> str:
    if slo.function_id is not None:
        return f"{slo.function.service.name}/{slo.function.name}"
    return f"{slo.service.name} (all functions)"


def service_name(slo: SLO) -> str:
    return slo.function.service.name if slo.function_id is not None else slo.service.name


def subject(slo: SLO) -> str:
    return slo.function.name if slo.function_id is not None else "*"


def objective_text(slo: SLO) -> str:
    if slo.objective == Objective.LATENCY:
        return f"{slo.target:g} % of calls under {slo.latency_ms:g} ms"
    return f"{slo.target:g} % of calls succeed"


def burn_alerts(slo: SLO) -> list[BurnAlert]:
    return [BurnAlert.from_dict(item) for item in slo.burn_alerts]


@dataclass(frozen=True, eq=False)
class Evaluated:
    """What the evaluation round reads of an enabled SLO: plain values, no model instance
    (a round reads every SLO; only those with something to do get one). slo_sums reads its
    id, function_id, service_id, latency_ms and objective, as of an SLO."""

    id: int
    function_id: int | None
    service_id: int | None
    objective: str
    target: float
    latency_ms: float | None
    window_days: int
    rule_id: int
    alerts: tuple[BurnAlert, ...]

    @property
    def window(self) -> timedelta:
        return timedelta(days=self.window_days)


# Burn-rate alert lists parsed, by their stored text: most SLOs keep the defaults, so a
# round parses a few lists, not one per SLO. Read every round, so never stale.
PARSED: dict[str, tuple[BurnAlert, ...]] = {}


def parsed(text: str) -> tuple[BurnAlert, ...]:
    found = PARSED.get(text)
    if found is None:
        if len(PARSED) >= 1000:
            PARSED.clear()
        found = PARSED[text] = tuple(BurnAlert.from_dict(item) for item in json.loads(text))
    return found


def evaluated() -> list[Evaluated]:
    """The enabled SLOs as the round reads them (in the list's order), one statement."""
    fields = ("id", "function_id", "service_id", "objective", "target", "latency_ms", "window_days", "rule_id")
    rows = SLO.objects.filter(enabled=True).annotate(alerts_text=Cast("burn_alerts", TextField()))
    return [Evaluated(*row[:-1], parsed(row[-1])) for row in rows.values_list(*fields, "alerts_text")]


def breaching(slo: Evaluated, counts: dict[timedelta, Counts]) -> bool:
    """Some pair of its windows at or over its rate (as `Reading.breaching`): it would fire."""
    for item in slo.alerts:
        long = burn.burn_rate(counts[item.long], slo.target)
        short = burn.burn_rate(counts[item.short], slo.target)
        if long is not None and short is not None and long >= item.burn_rate and short >= item.burn_rate:
            return True
    return False


@dataclass
class Status:
    """An SLO as read now."""

    slo: SLO
    now: datetime
    counts: Counts  # over the SLO window
    current_burn: float | None
    readings: list[Reading]
    open_alerts: dict[str, Alert]  # by burn alert name

    @property
    def budget_left(self) -> float:
        return burn.budget_left(self.counts, self.slo.target)

    @property
    def state(self) -> str:
        """firing (a burn-rate alert is open), burning (a pair breaches; the next round fires
        it), disabled, no data, exhausted (no budget left), or ok."""
        if self.open_alerts:
            return "firing"
        if not self.slo.enabled:
            return "disabled"
        if any(r.breaching for r in self.readings):
            return "burning"
        if self.counts.total == 0:
            return "no data"
        return "exhausted" if self.budget_left <= 0 else "ok"


# Up to this many SLOs, their open alerts are read by rule id; past it, by the rules' metric.
BY_ID_UP_TO = 100


def open_alerts(slo: SLO) -> dict[str, Alert]:
    """The SLO's open alerts by burn alert name (a removed alert's: by its fingerprint)."""
    return every_open_alerts([slo])[slo.id]


def every_open_alerts(
    slos: Sequence[SLO | Evaluated], alerts_of: Callable[..., Sequence[BurnAlert]] = burn_alerts
) -> dict[int, dict[str, Alert]]:
    """Each SLO's open alerts by burn alert name, read in one statement (`alerts_of` gives an
    SLO's burn alerts: only those of SLOs with an open alert are looked at)."""
    found: dict[int, dict[str, Alert]] = {slo.id: {} for slo in slos}
    by_rule = {slo.rule_id: slo for slo in slos}
    alerts = Alert.objects.filter(state__in=OPEN_STATES).select_related("rule")
    # Every SLO's (the round): by the rules' metric, not a thousand ids to bind.
    few = len(by_rule) <= BY_ID_UP_TO
    alerts = alerts.filter(rule_id__in=by_rule) if few else alerts.filter(rule__metric=Metric.SLO_BURN_RATE)
    for alert in alerts:
        slo = by_rule.get(alert.rule_id)
        if slo is None:
            continue  # a disabled SLO's: not asked for
        names = {fingerprint(slo, a.name): a.name for a in alerts_of(slo)}
        found[slo.id][names.get(alert.fingerprint, alert.fingerprint)] = alert
    return found


def spans(slo: SLO, budget: bool) -> list[timedelta]:
    """The windows an SLO's status reads: its alerts' (and the list's hour), and its own with budget."""
    return spans_of(burn_alerts(slo), slo.window, budget)


def spans_of(alerts: Sequence[BurnAlert], window: timedelta, budget: bool) -> list[timedelta]:
    found = [CURRENT, *(a.long for a in alerts), *(a.short for a in alerts)]
    return [window, *found] if budget else found


def status(slo: SLO, now: datetime | None = None, budget: bool = True) -> Status:
    """The SLO now; budget=False (the evaluation round) leaves out the whole window, the
    longest read, and its counts read as empty."""
    now = now or timezone.now()
    counts = slo_counts.window_counts(slo, spans(slo, budget), now)
    return status_of(slo, now, counts, open_alerts(slo))


def status_of(slo: SLO, now: datetime, counts: dict[timedelta, Counts], alerts: dict[str, Alert]) -> Status:
    """The SLO from counts already read (the round reads every SLO's at once: slo_sums.py)."""

    def rate(span: timedelta) -> float | None:
        return burn.burn_rate(counts[span], slo.target)

    readings = [Reading(a, rate(a.long), rate(a.short)) for a in burn_alerts(slo)]
    return Status(slo, now, counts.get(slo.window, Counts()), rate(CURRENT), readings, alerts)


def rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def alert_out(status: Status, reading: Reading) -> dict:
    item = reading.alert
    alert = status.open_alerts.get(item.name)
    return {
        "name": item.name,
        "long_minutes": int(item.long / timedelta(minutes=1)),
        "short_minutes": int(item.short / timedelta(minutes=1)),
        "burn_rate": item.burn_rate,
        "severity": item.severity,
        "budget_percent": round(item.budget_share(status.slo.window) * 100, 2),
        "long_burn": rounded(reading.long_burn),
        "short_burn": rounded(reading.short_burn),
        "breaching": reading.breaching,
        "state": alert.state if alert else "ok",
        "alert_id": alert.id if alert else None,
        "long_text": burn.hours_or_minutes(item.long),
        "short_text": burn.hours_or_minutes(item.short),
    }


def slo_out(slo: SLO, now: datetime | None = None) -> dict:
    found = status(slo, now)
    return {
        "id": slo.id,
        "name": slo.name,
        "function": slo.function_id,
        "service": slo.service.name if slo.service_id is not None else None,
        "scope": scope_text(slo),
        "objective": slo.objective,
        "objective_text": objective_text(slo),
        "target": slo.target,
        "latency_ms": slo.latency_ms,
        "window_days": slo.window_days,
        "enabled": slo.enabled,
        "channels": [c.id for c in slo.rule.channels.all()],
        "good": found.counts.good,
        "total": found.counts.total,
        "budget_left": rounded(found.budget_left, 6),
        "burn_rate": rounded(found.current_burn),
        "state": found.state,
        "alerts": [alert_out(found, r) for r in found.readings],
        "created": slo.created,
        "updated": slo.updated,
        "project": slo.project.slug,
    }


def budget_series(slo: SLO, now: datetime | None = None) -> list[dict]:
    """The budget left through the SLO window, hour by hour: after each hour, the share of
    the window's budget (what its calls up to now allow) not spent by the calls since the
    window's start. The last point is the budget left now."""
    now = now or timezone.now()
    hours = slo_counts.hourly_counts(slo, now)
    total = sum(c.total for c in hours.values())
    allowed = burn.error_budget(slo.target) * total
    start = floor(now - slo.window, HOUR)
    points, bad = [], 0
    moment = start
    while moment <= now:
        counts = hours.get(moment)
        if counts is not None:
            bad += counts.bad
        left = 1.0 if not allowed else 1 - bad / allowed
        calls = counts.total if counts else 0
        points.append({"at": min(moment + HOUR, now), "budget_left": round(left, 6), "calls": calls})
        moment += HOUR
    return points
