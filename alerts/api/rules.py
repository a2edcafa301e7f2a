"""Rules: read (viewer), configure (admin); templates to start from and a preview of what a
rule would have done (admin). Writes go through alerts.rule_changes, as the pages' do."""

# No `from __future__ import annotations`: ninja resolves the annotations of a decorated
# view (@paginate, @shared) in the decorator's module, where these names are unknown.

from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Status
from ninja.pagination import paginate

from alerts import rule_changes
from alerts.models import OPEN_STATES, Rule
from alerts.read import event_out
from alerts.rule_preview import preview
from alerts.rule_templates import TEMPLATES
from monitoring.auth import acting_on, project_for_new, require_role, user_auth
from monitoring.models import Project
from monitoring.paging import Rows, ShortPagination
from monitoring.projects import scoped
from monitoring.schemas import errors

from .schemas import RuleDetail, RuleIn, RuleOut, RulePatch, RulePreviewOut, RuleTemplateOut

router = Router(tags=["rules"])


def with_firing(rules: QuerySet[Rule]) -> QuerySet[Rule]:
    # A grouped query leaves out the model's ordering: given again, or pages could overlap.
    return rules.annotate(open_alerts=Count("alerts", filter=Q(alerts__state__in=OPEN_STATES))).order_by("name", "id")


def rule_out(rule: Rule) -> dict:
    fields = {f: getattr(rule, f) for f in RuleIn.model_fields if f not in ("channels", "escalation_policy", "project")}
    firing = getattr(rule, "open_alerts", None)
    return {
        **fields,
        "id": rule.id,
        "channels": [c.id for c in rule.channels.all()],
        "escalation_policy": rule.escalation_policy_id,
        "project": rule.project.slug,
        "created": rule.created,
        "updated": rule.updated,
        "firing": rule.alerts.filter(state__in=OPEN_STATES).count() if firing is None else firing,
    }


def rule_detail(rule: Rule) -> dict:
    history = rule.events.filter(alert__isnull=True).select_related("actor").order_by("at", "id")
    return {**rule_out(rule), "history": [event_out(e) for e in history]}


def unsaved(payload: RuleIn, project: Project) -> Rule:
    return Rule(**payload.model_dump(exclude={"channels", "escalation_policy", "project"}), project=project)


def configured(request: HttpRequest) -> QuerySet[Rule]:
    """The rules of the person's projects."""
    return scoped(Rule.objects.configured().select_related("project"), request.user)


@router.get("/rules", auth=user_auth, response={200: list[RuleOut], **errors(401, 422, 503)})
@paginate(ShortPagination)
def list_rules(request: HttpRequest) -> Rows:
    rules = with_firing(configured(request).prefetch_related("channels"))
    return Rows(rules, lambda page: [rule_out(r) for r in page])


@router.get("/rules/templates", auth=user_auth, response={200: list[RuleTemplateOut], **errors(401, 403, 503)})
def list_rule_templates(request: HttpRequest) -> list[dict]:
    """Rules to start from: each `rule` is a create body with sensible defaults for its metric."""
    require_role(request, "admin")
    return [{"key": t.key, "title": t.title, "description": t.description, "rule": t.body()} for t in TEMPLATES]


@router.post("/rules/preview", auth=user_auth, response={200: RulePreviewOut, **errors(400, 401, 403, 413, 422, 503)})
def preview_rule(request: HttpRequest, payload: RuleIn) -> dict:
    """How many times this rule (the create body, not saved) would have fired over the last 24
    hours of stored data, and on which subjects."""
    project = project_for_new(request, payload.project)
    rule_changes.check_channels(payload.channels, project.id)
    return preview(unsaved(payload, project))


@router.post("/rules", auth=user_auth, response={201: RuleDetail, **errors(400, 401, 403, 413, 422, 503)})
def create_rule(request: HttpRequest, payload: RuleIn) -> Status:
    project = project_for_new(request, payload.project)
    rule = rule_changes.create(request.user, payload.model_dump(), project)
    return Status(201, rule_detail(rule))


@router.get("/rules/{rule_id}", auth=user_auth, response={200: RuleDetail, **errors(401, 404, 422, 503)})
def get_rule(request: HttpRequest, rule_id: int) -> dict:
    return rule_detail(get_object_or_404(configured(request), id=rule_id))


@router.put("/rules/{rule_id}", auth=user_auth, response={200: RuleDetail, **errors(400, 401, 403, 404, 413, 422, 503)})
def replace_rule(request: HttpRequest, rule_id: int, payload: RuleIn) -> dict:
    """Every field as given; `enabled: false` disables the rule and resolves its open alerts."""
    rule = acting_on(request, configured(request), "admin", id=rule_id)
    return rule_detail(rule_changes.update(rule, request.user, payload.model_dump()))


@router.patch(
    "/rules/{rule_id}", auth=user_auth, response={200: RuleDetail, **errors(400, 401, 403, 404, 413, 422, 503)}
)
def update_rule(request: HttpRequest, rule_id: int, payload: RulePatch) -> dict:
    """The fields given; `{"enabled": false}` disables the rule and resolves its open alerts."""
    rule = acting_on(request, configured(request), "admin", id=rule_id)
    return rule_detail(rule_changes.update(rule, request.user, payload.model_dump(exclude_unset=True)))


@router.delete("/rules/{rule_id}", auth=user_auth, response={204: None, **errors(401, 403, 404, 422, 503)})
def delete_rule(request: HttpRequest, rule_id: int) -> Status:
    """Resolves the rule's open alerts (they stay, with their timelines), then deletes it."""
    rule = acting_on(request, configured(request), "admin", id=rule_id)
    rule_changes.delete(rule, request.user)
    return Status(204, None)
