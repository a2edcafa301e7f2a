"""The escalation pages: the policies (admins: list, new, edit with its steps, delete, its
history) and people's notification addresses (admins for anyone, each person their own).

Step rows are plain form fields with an index (step-0-wait, step-0-channels, step-0-people);
"Add a step" and "Remove" re-show the form with one row more or less, nothing saved. A form is
parsed into the API's PolicyIn and saved by alerts.escalation_changes, as the API does."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import path
from django.views.decorators.http import require_POST
from pydantic import ValidationError

from monitoring import audit
from monitoring.auth import acting_on, page_for, role_of
from monitoring.errors import InputError
from monitoring.forms import form_values
from monitoring.models import Project, Service
from monitoring.projects import current_project, people_in, people_seen_by, scoped
from monitoring.views import page

from . import escalation_changes, escalation_read
from .api.escalation_schemas import AddressIn, PolicyIn
from .models import Channel, EscalationPolicy, NotificationAddress

PAGE_SIZE = 50
STEP_FIELD = re.compile(r"^step-(\d{1,2})-(wait|channels|people)$")
DEFAULT_WAIT = 10
# A step's API field -> its form field (step-<i>-<name>); an error about the step as a whole: "row".
FORM_NAMES = {"wait_minutes": "wait", "channels": "channels", "people": "people"}


def offset_of(request: HttpRequest) -> int:
    value = request.GET.get("offset", "")
    return int(value) if value.isdigit() and len(value) < 10 else 0


@page_for("admin")
def policies(request: HttpRequest) -> HttpResponse:
    offset = offset_of(request)
    found = scoped(escalation_read.policies(), request.user)
    count = found.count()
    items = [
        escalation_read.policy_out(p) | {"project_name": p.project.name} for p in found[offset : offset + PAGE_SIZE]
    ]
    end = offset + len(items)
    pager = {
        "count": count,
        "previous": "?" + urlencode({"offset": max(0, offset - PAGE_SIZE)}) if offset else None,
        "next": "?" + urlencode({"offset": end}) if end < count else None,
    }
    return page(request, "alerts/escalation_policies.html", "rules", policies=items, pager=pager)


def whole(text: str) -> int | str:
    """A whole number as the API's JSON carries it; anything else as typed (the schema names it)."""
    try:
        return int(text) if len(text) < 12 else text
    except ValueError:
        return text


def ids(values: list[str]) -> list[int | str]:
    return [int(v) if v.isdigit() and len(v) < 19 else v for v in values if v != ""]


def step_rows(data: QueryDict) -> list[dict]:
    """The form's step rows, in index order: {"wait_minutes", "channels", "people"} as the API takes them."""
    indexes = sorted({int(m.group(1)) for name in data if (m := STEP_FIELD.match(name))})
    rows = []
    for i in indexes:
        wait = data.get(f"step-{i}-wait", "").strip()
        rows.append(
            {
                "wait_minutes": whole(wait),
                "channels": ids(data.getlist(f"step-{i}-channels")),
                "people": ids(data.getlist(f"step-{i}-people")),
            }
        )
    return rows


def typed(data: QueryDict) -> dict:
    """The form's values as the API's JSON would carry them."""
    values = {
        name: value
        for name, value in form_values(data, lists=("services",)).items()
        if name in ("name", "description", "repeat", "services")
    }
    if "repeat" in values:
        values["repeat"] = whole(values["repeat"])
    values["services"] = ids(values["services"])
    values["steps"] = step_rows(data)
    return values


def errors_of(error: ValidationError | InputError) -> dict[str, str]:
    """Errors keyed as the form names its fields: "steps[1].wait_minutes" -> "step-1-wait"."""
    if isinstance(error, InputError):
        found = {error.field: error.message}
    else:
        found = {}
        for problem in error.errors():
            found.setdefault(".".join(str(part) for part in problem["loc"]), problem["msg"])
    out: dict[str, str] = {}
    for field, message in found.items():
        parts = re.split(r"[\[\].]+", field.strip("]"))
        if parts[0] == "steps" and len(parts) > 1 and parts[1].isdigit():
            name = FORM_NAMES.get(parts[2], "row") if len(parts) > 2 else "row"
            out.setdefault(f"step-{parts[1]}-{name}", message)
        else:
            out.setdefault(parts[0], message)
    return out


def rows_for(values: dict, errors: dict) -> list[dict]:
    steps = values.get("steps") or [{"wait_minutes": DEFAULT_WAIT, "channels": [], "people": []}]
    return [
        {
            "index": i,
            "number": i + 1,
            "wait": step.get("wait_minutes"),
            "channels": step.get("channels") or [],
            "people": step.get("people") or [],
            "errors": {k: errors.get(f"step-{i}-{k}") for k in ("wait", "channels", "people", "row")},
        }
        for i, step in enumerate(steps)
    ]


def choosable_channels(project: Project | None = None) -> QuerySet[Channel]:
    """Channels to pick for a step (of the policy's project) or an address: not those that
    exist only to mail one person (a person is picked as a person)."""
    mailing = NotificationAddress.objects.filter(mail_channel__isnull=False).values("mail_channel")
    found = Channel.objects.exclude(id__in=mailing)
    return found.filter(project=project) if project is not None else found


def form_page(
    request: HttpRequest, policy: EscalationPolicy | None, values: dict, errors: dict, status: int = 200
) -> HttpResponse:
    shown = escalation_read.policy_out(policy) if policy else None
    project = policy.project if policy else current_project(request)
    context = {
        "project": project,
        "policy": shown,
        "values": values,
        "errors": {k: v for k, v in errors.items() if not k.startswith("step-")},
        "step_errors": any(k.startswith("step-") for k in errors),
        "rows": rows_for(values, errors),
        "channels": choosable_channels(project),
        "people": escalation_read.people_with_addresses(people_in(project)),
        "services": Service.objects.filter(project=project).order_by("name"),
        "history": audit.history("escalationpolicy", policy.id)[:50] if policy else [],
    }
    response = page(request, "alerts/escalation_form.html", "rules", **context)
    response.status_code = status
    return response


def values_of(policy: EscalationPolicy) -> dict:
    shown = escalation_read.policy_out(policy)
    return {
        "name": policy.name,
        "description": policy.description,
        "repeat": policy.repeat,
        "services": [s["id"] for s in shown["services"]],
        "steps": [
            {
                "wait_minutes": s["wait_minutes"],
                "channels": [c["id"] for c in s["channels"]],
                "people": [p["id"] for p in s["people"]],
            }
            for s in shown["steps"]
        ],
    }


def rearranged(request: HttpRequest, values: dict) -> dict | None:
    """The values with a step added or removed when the form asked for that (nothing saved), else None."""
    if "add_step" in request.POST:
        return {**values, "steps": [*values["steps"], {"wait_minutes": DEFAULT_WAIT, "channels": [], "people": []}]}
    remove = request.POST.get("remove_step", "")
    if remove.isdigit() and int(remove) < len(values["steps"]):
        steps = [s for i, s in enumerate(values["steps"]) if i != int(remove)]
        return {**values, "steps": steps}
    return None


def save(request: HttpRequest, policy: EscalationPolicy | None) -> HttpResponse:
    values = typed(request.POST)
    changed = rearranged(request, values)
    if changed is not None:
        return form_page(request, policy, changed, {})
    try:
        payload = PolicyIn.model_validate(values)
        if policy is None:
            policy = escalation_changes.create(request.user, payload.model_dump(), current_project(request))
            messages.success(request, f"Escalation policy “{policy.name}” created.")
        else:
            escalation_changes.update(policy, request.user, payload.model_dump())
            messages.success(request, f"Escalation policy “{policy.name}” saved.")
        return redirect("escalation-policy", policy.id)
    except (ValidationError, InputError) as error:
        errors = errors_of(error)
    if policy is not None:
        policy.refresh_from_db()
    return form_page(request, policy, values, errors, status=422)


@page_for("admin")
def new_policy(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return save(request, None)
    return form_page(request, None, {"repeat": 0, "services": [], "steps": []}, {})


@page_for("viewer")
def edit_policy(request: HttpRequest, policy_id: int) -> HttpResponse:
    policy = acting_on(request, escalation_read.policies(), "admin", id=policy_id)
    if request.method == "POST":
        return save(request, policy)
    return form_page(request, policy, values_of(policy), {})


@require_POST
@page_for("viewer")
def delete_policy(request: HttpRequest, policy_id: int) -> HttpResponse:
    policy = acting_on(request, EscalationPolicy, "admin", id=policy_id)
    name = policy.name
    escalation_changes.delete(policy, request.user)
    messages.success(request, f"Escalation policy “{name}” deleted.")
    return redirect("escalation-policies")


@page_for("admin")
def addresses(request: HttpRequest) -> HttpResponse:
    offset = offset_of(request)
    found = escalation_read.people_with_addresses(people_seen_by(request.user, "admin"))
    count = found.count()
    items = list(found[offset : offset + PAGE_SIZE])
    end = offset + len(items)
    pager = {
        "count": count,
        "previous": "?" + urlencode({"offset": max(0, offset - PAGE_SIZE)}) if offset else None,
        "next": "?" + urlencode({"offset": end}) if end < count else None,
    }
    return page(request, "alerts/notification_addresses.html", "rules", people=items, pager=pager)


def address_page(request: HttpRequest, user: object, values: dict, errors: dict, status: int = 200) -> HttpResponse:
    address = NotificationAddress.objects.filter(user=user).first()
    context = {
        "person": user,
        "values": values,
        "errors": errors,
        "channels": scoped(choosable_channels(), request.user),
        "own": user.pk == request.user.pk,
        "is_admin": role_of(request.user) == "admin",
        "history": audit.history("notificationaddress", address.id)[:50] if address else [],
    }
    active = "tokens" if user.pk == request.user.pk else "rules"
    response = page(request, "alerts/notification_address.html", active, **context)
    response.status_code = status
    return response


@page_for("viewer")
def address(request: HttpRequest, user_id: int) -> HttpResponse:
    """One person's notification address: their own, or (for an admin) a person of their projects."""
    user = escalation_read.reach_person(request.user, user_id)
    if request.method != "POST":
        shown = escalation_read.address_out(user)
        values = {"email": shown["email"], "channel": shown["channel"]["id"] if shown["channel"] else None}
        return address_page(request, user, values, {})
    values = form_values(request.POST)
    channel = str(values.get("channel", ""))
    values["channel"] = int(channel) if channel.isdigit() and len(channel) < 19 else values.get("channel")
    try:
        payload = AddressIn.model_validate(values)
        escalation_changes.set_address(request.user, user, payload.email, payload.channel)
    except (ValidationError, InputError) as error:
        return address_page(request, user, values, errors_of(error), status=422)
    messages.success(request, f"Notification address of {user.get_username()} saved.")
    return redirect("notification-address", user.pk)


@page_for("viewer")
def my_address(request: HttpRequest) -> HttpResponse:
    return redirect("notification-address", request.user.pk)


urlpatterns = [
    path("", policies, name="escalation-policies"),
    path("new/", new_policy, name="escalation-policy-new"),
    path("<int:policy_id>/", edit_policy, name="escalation-policy"),
    path("<int:policy_id>/delete/", delete_policy, name="escalation-policy-delete"),
    path("people/", addresses, name="notification-addresses"),
    path("people/me/", my_address, name="my-notification-address"),
    path("people/<int:user_id>/", address, name="notification-address"),
]
