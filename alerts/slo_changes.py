"""Changing SLOs: create, update, delete. The API and the pages both call these, so a change
validates and is audited the same way from either.

Each SLO keeps one rule (metric slo_burn_rate, hidden from the rule pages) that its
burn-rate alerts belong to: they fire, notify its channels, remind and are silenced like
any rule's. Disabling or deleting the SLO resolves its open alerts, as for a rule.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from monitoring import audit
from monitoring.errors import InputError
from monitoring.models import Function, Project, Service, default_project_id

from .models import SLO, Metric, Objective, Rule, Severity
from .rule_changes import Actor, check_channels, person, stop
from .timeline import record

FIELDS = (
    "name",
    "function",
    "service",
    "objective",
    "target",
    "latency_ms",
    "window_days",
    "burn_alerts",
    "enabled",
)
WINDOW_DAYS = (7, 30)
SEVERITY_ORDER = list(Severity.values)  # critical first


def scope(data: dict, project_id: int) -> tuple[Function | None, Service | None]:
    """The SLO's function or service, of its project (another project's is not found)."""
    service = Service.objects.filter(name=data["service"], project_id=project_id).first()
    if service is None:
        raise InputError("service", f"no service named {data['service']!r}")
    if data.get("function") is None:
        return None, service
    function = Function.objects.filter(service=service, name=data["function"]).first()
    if function is None:
        raise InputError("function", f"no function named {data['function']!r} in {service.name}")
    return function, None


def check(data: dict) -> None:
    if data["window_days"] not in WINDOW_DAYS:
        raise InputError("window_days", "must be 7 or 30")
    if data["objective"] == Objective.LATENCY and data.get("latency_ms") is None:
        raise InputError("latency_ms", "a latency objective needs a threshold in ms")
    window_minutes = data["window_days"] * 24 * 60
    names = set()
    for i, item in enumerate(data["burn_alerts"]):
        if item["name"] in names:
            raise InputError(f"burn_alerts[{i}].name", f"{item['name']!r} is named twice")
        names.add(item["name"])
        if item["short_minutes"] >= item["long_minutes"]:
            raise InputError(f"burn_alerts[{i}].short_minutes", "must be shorter than the long window")
        if item["long_minutes"] > window_minutes:
            raise InputError(f"burn_alerts[{i}].long_minutes", "must not be longer than the SLO window")


def apply(slo: SLO, data: dict) -> list:
    """Set the SLO's fields from the input (SLOIn.model_dump()); returns its channels."""
    check(data)
    slo.function, slo.service = scope(data, slo.project_id)
    for name in ("name", "objective", "target", "window_days", "enabled"):
        setattr(slo, name, data[name])
    slo.latency_ms = data.get("latency_ms") if data["objective"] == Objective.LATENCY else None
    slo.burn_alerts = [dict(item) for item in data["burn_alerts"]]
    if SLO.objects.filter(name=slo.name).exclude(id=slo.id).exists():
        raise InputError("name", "another SLO has this name")
    return check_channels(data.get("channels") or [], slo.project_id)


def sync_rule(slo: SLO, rule: Rule, channels: list) -> Rule:
    """The SLO's rule says what its alerts say: its name, scope, worst severity, state."""
    rule.name = f"SLO {slo.name}"[:200]
    rule.enabled = slo.enabled
    rule.metric = Metric.SLO_BURN_RATE
    rule.op = ">="
    rule.threshold = max(item["burn_rate"] for item in slo.burn_alerts)
    rule.window_minutes = slo.window_days * 24 * 60
    rule.severity = min((item["severity"] for item in slo.burn_alerts), key=SEVERITY_ORDER.index)
    rule.service = slo.function.service.name if slo.function else slo.service.name
    rule.subject = slo.function.name if slo.function else "*"
    rule.updated = timezone.now()
    rule.save()
    rule.channels.set(channels)
    return rule


def snapshot(slo: SLO) -> dict:
    return {**audit.snapshot(slo, FIELDS), "channels": sorted(slo.rule.channels.values_list("id", flat=True))}


def create(actor: Actor, data: dict, project: Project | None = None) -> SLO:
    """A new SLO in project (default: the default project), on a service of that project."""
    slo = SLO(project_id=project.id if project is not None else default_project_id())
    channels = apply(slo, data)
    with transaction.atomic():
        slo.rule = sync_rule(slo, Rule(project_id=slo.project_id), channels)
        slo.save()
        record(None, "SLO created", actor=person(actor), rule=slo.rule)
        audit.record(actor, audit.CREATED, slo, after=snapshot(slo))
    return slo


def update(slo: SLO, actor: Actor, data: dict) -> SLO:
    with transaction.atomic():
        before = snapshot(slo)
        channels = apply(slo, data)
        slo.updated = timezone.now()
        slo.save()
        sync_rule(slo, slo.rule, channels)
        audit.record(actor, audit.UPDATED, slo, before=before, after=snapshot(slo))
        if before["enabled"] and not slo.enabled:
            stop(slo.rule, actor, f"the SLO “{slo.name}” was disabled")
    return slo


def delete(slo: SLO, actor: Actor) -> None:
    """Resolve the SLO's open alerts, then delete it and its rule; the alerts stay."""
    with transaction.atomic():
        stop(slo.rule, actor, f"the SLO “{slo.name}” was deleted")
        audit.record(actor, audit.DELETED, slo, before=snapshot(slo))
        rule = slo.rule
        slo.delete()
        rule.delete()
