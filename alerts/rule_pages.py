"""The rules pages (admins): the list, a form to create (from a template) or edit a rule,
enable, disable, delete, and the form's preview. Forms are parsed into the API's RuleIn
and saved by alerts.rule_changes, so a page validates and audits exactly like the API."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.views.decorators.http import require_POST
from pydantic import ValidationError

from monitoring import audit
from monitoring.auth import acting_on, page_for, project_for_new
from monitoring.errors import InputError
from monitoring.forms import field_errors, form_values, parse
from monitoring.projects import current_project, scoped
from monitoring.views import page

from . import rule_changes
from .api.schemas import RuleIn
from .models import OPEN_STATES, Channel, EscalationPolicy, Metric, Op, Rule, Severity
from .rule_preview import preview
from .rule_templates import METRIC_HELP, TEMPLATES, find

PAGE_SIZE = 50
WHOLE = ("window_minutes", "min_calls", "for_seconds", "cooldown_minutes")
NUMBERS = ("threshold", "resolve_threshold")


def offset_of(request: HttpRequest) -> int:
    value = request.GET.get("offset", "")
    return int(value) if value.isdigit() and len(value) < 10 else 0


@page_for("admin")
def rules(request: HttpRequest) -> HttpResponse:
    offset = offset_of(request)
    found = (
        scoped(Rule.objects.configured(), request.user)
        .select_related("project")
        .annotate(open_alerts=Count("alerts", filter=Q(alerts__state__in=OPEN_STATES)))
    )
    # A grouped query leaves out the model's ordering: given again, or pages could overlap.
    found = found.order_by("name", "id")
    count = found.count()
    items = list(found.prefetch_related("channels")[offset : offset + PAGE_SIZE])
    end = offset + len(items)
    pager = {
        "count": count,
        "previous": "?" + urlencode({"offset": max(0, offset - PAGE_SIZE)}) if offset else None,
        "next": "?" + urlencode({"offset": end}) if end < count else None,
    }
    return page(request, "alerts/rules.html", "rules", rules=items, pager=pager, templates=TEMPLATES)


def typed(data: QueryDict) -> tuple[dict, dict[str, str]]:
    """The form's values as the API's JSON would carry them: numbers as numbers, ids as ints."""
    values = form_values(data, lists=("channels",), checkboxes=("enabled",))
    problems = {}
    for name in (*WHOLE, *NUMBERS):
        if name not in values:
            continue
        try:
            number = float(values[name])
        except ValueError:
            problems[name] = "must be a number"
            continue
        values[name] = int(number) if name in WHOLE and number.is_integer() else number
    channels = values["channels"]
    if all(str(c).isdigit() for c in channels):
        values["channels"] = [int(c) for c in channels]
    policy = str(values.get("escalation_policy", ""))
    if policy.isdigit() and len(policy) < 19:
        values["escalation_policy"] = int(policy)
    return values, problems


def read_form(request: HttpRequest) -> tuple[RuleIn | None, dict[str, str]]:
    values, problems = typed(request.POST)
    payload, errors = parse(RuleIn, values)
    errors = {**errors, **problems}
    return (None if errors else payload), {name.split("[")[0]: message for name, message in errors.items()}


def form_page(
    request: HttpRequest, rule: Rule | None, values: dict, errors: dict, status: int = 200, template: object = None
) -> HttpResponse:
    project = rule.project if rule else current_project(request)
    context = {
        "project": project,
        "chosen": template,
        "rule": rule,
        "values": values,
        "errors": errors,
        "channels": Channel.objects.filter(project=project),
        "policies": EscalationPolicy.objects.filter(project=project).order_by("name"),
        "metrics": [(m.value, METRIC_HELP[m]) for m in Metric if m in METRIC_HELP],
        "ops": Op.values,
        "severities": Severity.values,
        "group_choices": [("subject", "subject (function or queue)"), ("service", "service")],
        "templates": TEMPLATES,
        "history": audit.history("rule", rule.id)[:50] if rule else [],
    }
    response = page(request, "alerts/rule_form.html", "rules", **context)
    response.status_code = status
    return response


def shown(values: dict) -> dict:
    """What the form shows of values given back: channel ids as ints where they are."""
    channels = values.get("channels", [])
    return {**values, "channels": [int(c) for c in channels if str(c).isdigit()]}


def save(request: HttpRequest, rule: Rule | None) -> HttpResponse:
    payload, errors = read_form(request)
    if payload is not None:
        try:
            if rule is None:
                rule = rule_changes.create(request.user, payload.model_dump(), current_project(request))
                messages.success(request, f"Rule “{rule.name}” created.")
            else:
                rule_changes.update(rule, request.user, payload.model_dump())
                messages.success(request, f"Rule “{rule.name}” saved.")
            return redirect("rules")
        except InputError as error:
            errors = {name.split("[")[0]: message for name, message in field_errors(error).items()}
    values, _ = typed(request.POST)
    return form_page(request, rule, shown(values), errors, status=422)


@page_for("admin")
def new_rule(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return save(request, None)
    template = find(request.GET.get("template", ""))
    defaults = {name: f.default for name, f in RuleIn.model_fields.items() if not f.is_required()}
    values = {**defaults, "name": "", "metric": Metric.ERROR_RATE.value, "threshold": ""}
    if template:
        values.update(template.body())
    return form_page(request, None, values, {}, template=template)


@page_for("viewer")
def edit_rule(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = acting_on(request, Rule.objects.configured(), "admin", id=rule_id)
    if request.method == "POST":
        return save(request, rule)
    return form_page(request, rule, audit.snapshot(rule, rule_changes.FIELDS), {})


@require_POST
@page_for("viewer")
def enable_rule(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = acting_on(request, Rule.objects.configured(), "admin", id=rule_id)
    rule_changes.set_enabled(rule, request.user, True)
    messages.success(request, f"Rule “{rule.name}” enabled.")
    return redirect("rules")


@require_POST
@page_for("viewer")
def disable_rule(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = acting_on(request, Rule.objects.configured(), "admin", id=rule_id)
    open_alerts = rule.alerts.filter(state__in=OPEN_STATES).count()
    rule_changes.set_enabled(rule, request.user, False)
    resolved = f" {open_alerts} open alert{'s' if open_alerts != 1 else ''} resolved." if open_alerts else ""
    messages.success(request, f"Rule “{rule.name}” disabled.{resolved}")
    return redirect("rules")


@require_POST
@page_for("viewer")
def delete_rule(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = acting_on(request, Rule.objects.configured(), "admin", id=rule_id)
    name, open_alerts = rule.name, rule.alerts.filter(state__in=OPEN_STATES).count()
    rule_changes.delete(rule, request.user)
    resolved = f" {open_alerts} open alert{'s' if open_alerts != 1 else ''} resolved." if open_alerts else ""
    messages.success(request, f"Rule “{name}” deleted.{resolved}")
    return redirect("rules")


@require_POST
@page_for("viewer")
def preview_rule(request: HttpRequest) -> HttpResponse:
    """The form's preview fragment (htmx): answered 200 even with errors, so htmx swaps it in."""
    payload, errors = read_form(request)
    result = None
    if payload is not None:
        try:
            # The form's own project (a rule being edited may be of another than the current).
            project = project_for_new(request, payload.project)
            rule_changes.check_channels(payload.channels, project.id)
            fields = payload.model_dump(exclude={"channels", "escalation_policy", "project"})
            result = preview(Rule(**fields, project=project))
        except (InputError, ValidationError) as error:
            errors = field_errors(error)
    return page(request, "alerts/_rule_preview.html", "rules", preview=result, errors=errors)
