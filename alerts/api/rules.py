"""Rules: read (viewer), configure (admin); every edit is on the rule's history."""

# No `from __future__ import annotations`: ninja resolves the annotations of a decorated
# view (@paginate, @shared) in the decorator's module, where these names are unknown.

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Router, Status
from ninja.pagination import paginate

from alerts.models import Channel, Rule
from alerts.read import event_out
from alerts.timeline import record
from monitoring.auth import require_role, user_auth
from monitoring.errors import InputError
from monitoring.paging import Rows, ShortPagination
from monitoring.schemas import errors

from .schemas import RuleDetail, RuleIn, RuleOut, RulePatch

router = Router(tags=["rules"])


def rule_out(rule: Rule) -> dict:
    fields = {f: getattr(rule, f) for f in RuleIn.model_fields if f != "channels"}
    return {
        **fields,
        "id": rule.id,
        "channels": [c.id for c in rule.channels.all()],
        "created": rule.created,
        "updated": rule.updated,
    }


def rule_detail(rule: Rule) -> dict:
    history = rule.events.filter(alert__isnull=True).select_related("actor").order_by("at", "id")
    return {**rule_out(rule), "history": [event_out(e) for e in history]}


def check_channels(ids: list[int]) -> list[Channel]:
    found = {c.id: c for c in Channel.objects.filter(id__in=ids)}
    for i, channel_id in enumerate(ids):
        if channel_id not in found:
            raise InputError(f"channels[{i}]", f"no channel with id {channel_id}")
    return list(found.values())


def save(rule: Rule, data: dict, actor: AbstractBaseUser, action: str) -> Rule:
    channels = check_channels(data.pop("channels")) if data.get("channels") is not None else None
    data.pop("channels", None)
    changed = [name for name, value in data.items() if getattr(rule, name, None) != value]
    for name, value in data.items():
        setattr(rule, name, value)
    rule.updated = timezone.now()
    with transaction.atomic():
        rule.save()
        if channels is not None:
            before = set(rule.channels.values_list("id", flat=True))
            rule.channels.set(channels)
            if before != {c.id for c in channels}:
                changed.append("channels")
        detail = "" if action == "rule created" else "changed " + (", ".join(changed) or "nothing")
        record(None, action, actor=actor, detail=detail, rule=rule)
    return rule


@router.get("/rules", auth=user_auth, response={200: list[RuleOut], **errors(401, 422, 503)})
@paginate(ShortPagination)
def list_rules(request: HttpRequest) -> Rows:
    return Rows(Rule.objects.prefetch_related("channels"), lambda page: [rule_out(r) for r in page])


@router.post("/rules", auth=user_auth, response={201: RuleDetail, **errors(400, 401, 403, 413, 422, 503)})
def create_rule(request: HttpRequest, payload: RuleIn) -> Status:
    require_role(request, "admin")
    rule = save(Rule(), payload.model_dump(), request.user, "rule created")
    return Status(201, rule_detail(rule))


@router.get("/rules/{rule_id}", auth=user_auth, response={200: RuleDetail, **errors(401, 404, 422, 503)})
def get_rule(request: HttpRequest, rule_id: int) -> dict:
    return rule_detail(get_object_or_404(Rule, id=rule_id))


@router.put("/rules/{rule_id}", auth=user_auth, response={200: RuleDetail, **errors(400, 401, 403, 404, 413, 422, 503)})
def replace_rule(request: HttpRequest, rule_id: int, payload: RuleIn) -> dict:
    require_role(request, "admin")
    rule = get_object_or_404(Rule, id=rule_id)
    return rule_detail(save(rule, payload.model_dump(), request.user, "rule changed"))


@router.patch(
    "/rules/{rule_id}", auth=user_auth, response={200: RuleDetail, **errors(400, 401, 403, 404, 413, 422, 503)}
)
def update_rule(request: HttpRequest, rule_id: int, payload: RulePatch) -> dict:
    require_role(request, "admin")
    rule = get_object_or_404(Rule, id=rule_id)
    return rule_detail(save(rule, payload.model_dump(exclude_unset=True), request.user, "rule changed"))


@router.delete("/rules/{rule_id}", auth=user_auth, response={204: None, **errors(401, 403, 404, 422, 503)})
def delete_rule(request: HttpRequest, rule_id: int) -> Status:
    require_role(request, "admin")
    rule = get_object_or_404(Rule, id=rule_id)
    with transaction.atomic():
        record(None, "rule deleted", actor=request.user, detail=f"rule {rule.id} {rule.name!r}", rule=rule)
        rule.delete()
    return Status(204, None)
