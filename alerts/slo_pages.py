"""The SLO pages: the list (everyone), one SLO with its budget chart (everyone), the form and
deleting (admins). Changes go through alerts/slo_changes.py, as the API's do; the form is
parsed into the API's SLOIn, so it refuses alike."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.views.decorators.http import require_POST
from pydantic import ValidationError

from monitoring import audit
from monitoring.auth import acting_on, page_for
from monitoring.errors import InputError
from monitoring.forms import form_values
from monitoring.models import Service
from monitoring.paging import MAX_OFFSET
from monitoring.projects import current_project, get_visible_or_404, scoped
from monitoring.views import page

from . import slo_changes, slo_read
from .api.slo_schemas import WINDOW_DAYS, SLOIn
from .models import SLO, Channel, Severity, default_burn_alerts

PAGE_SIZE = 25
NUMBERS = ("target", "latency_ms", "window_days")
ALERT_FIELDS = ("name", "long_minutes", "short_minutes", "burn_rate", "severity")
ALERT_NUMBERS = ("long_minutes", "short_minutes", "burn_rate")
BADGES = {
    "ok": "healthy",
    "firing": "firing",
    "burning": "degraded",
    "exhausted": "unhealthy",
    "no data": "none",
    "disabled": "off",
}


def times(burn: float | None) -> str:
    """A burn rate as read: "14.4x", "0.25x"; "no calls" without any."""
    return "no calls" if burn is None else f"{round(burn, 2):g}x"


def shown(item: dict) -> dict:
    alerts = [
        {
            **a,
            "rate_text": times(a["burn_rate"]),
            "long_text_burn": times(a["long_burn"]),
            "short_text_burn": times(a["short_burn"]),
        }
        for a in item["alerts"]
    ]
    return {
        **item,
        "alerts": alerts,
        "burn_text": times(item["burn_rate"]),
        "badge": BADGES.get(item["state"], "none"),
        "budget_pct": item["budget_left"] * 100,
        "bad": item["total"] - item["good"],
        "budget_share_text": f"{round(100 - item['target'], 6):g}",
    }


@page_for("viewer")
def slo_list(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("offset", "")
    offset = min(int(text), MAX_OFFSET) if text.isdigit() else 0
    found = scoped(slo_read.listed(), request.user)
    count = found.count()
    items = [
        shown(slo_read.slo_out(slo)) | {"project_name": slo.project.name} for slo in found[offset : offset + PAGE_SIZE]
    ]
    end = offset + len(items)
    pager = {
        "count": count,
        "previous": "?" + urlencode({"offset": max(0, offset - PAGE_SIZE)}) if offset else None,
        "next": "?" + urlencode({"offset": end}) if end < count else None,
    }
    return page(request, "alerts/slos.html", "slos", slos=items, pager=pager)


@page_for("viewer")
def slo_detail(request: HttpRequest, slo_id: int) -> HttpResponse:
    slo = get_visible_or_404(slo_read.listed(), request.user, id=slo_id)
    history = audit.history("slo", slo.id)[:50]
    return page(request, "alerts/slo.html", "slos", slo=shown(slo_read.slo_out(slo)), history=history)


def number(text: object) -> object:
    try:
        value = float(str(text))
    except ValueError:
        return text  # the schema names the field: "must be a number"
    return int(value) if value.is_integer() else value


def typed(data: QueryDict) -> dict:
    """The form's values as the API's JSON would carry them."""
    values = form_values(data, lists=("channels",), checkboxes=("enabled",))
    for name in NUMBERS:
        if name in values:
            values[name] = number(values[name])
    values["channels"] = [int(c) if str(c).isdigit() else c for c in values["channels"]]
    alerts = []
    for i in range(5):
        row = {f: values.pop(f"burn_alerts.{i}.{f}", None) for f in ALERT_FIELDS}
        if all(v is None for v in row.values()):
            continue
        alerts.append({f: number(v) if f in ALERT_NUMBERS and v is not None else v for f, v in row.items()})
    if alerts:
        values["burn_alerts"] = alerts
    return values


def key(loc: tuple) -> str:
    """("burn_alerts", 0, "long_minutes") -> "burn_alerts.0.long_minutes"; ("target",) -> "target"."""
    return ".".join(str(part) for part in loc)


def errors_of(error: ValidationError | InputError) -> dict[str, str]:
    if isinstance(error, InputError):
        # "burn_alerts[0].short_minutes" as the form names it.
        return {error.field.replace("[", ".").replace("]", ""): error.message}
    out: dict[str, str] = {}
    for problem in error.errors():
        out.setdefault(key(problem["loc"]), problem["msg"])
    return out


def alert_rows(values: dict, errors: dict) -> list[dict]:
    rows = values.get("burn_alerts") or default_burn_alerts()
    return [
        {
            "index": i,
            "values": row,
            "errors": {f: errors.get(f"burn_alerts.{i}.{f}") for f in ALERT_FIELDS},
        }
        for i, row in enumerate(rows)
    ]


def form_page(request: HttpRequest, slo: SLO | None, values: dict, errors: dict, status: int = 200) -> HttpResponse:
    project = slo.project if slo else current_project(request)
    context = {
        "project": project,
        "slo": slo,
        "values": values,
        "errors": {k: v for k, v in errors.items() if not k.startswith("burn_alerts.")},
        "alert_errors": any(k.startswith("burn_alerts") for k in errors),
        "alerts": alert_rows(values, errors),
        "services": Service.objects.filter(project=project).order_by("name").values_list("name", flat=True),
        "channels": Channel.objects.filter(project=project),
        "severities": Severity.values,
        "windows": WINDOW_DAYS,
        "history": audit.history("slo", slo.id)[:50] if slo else [],
    }
    response = page(request, "alerts/slo_form.html", "slos", **context)
    response.status_code = status
    return response


def save(request: HttpRequest, slo: SLO | None) -> HttpResponse:
    values = typed(request.POST)
    try:
        payload = SLOIn.model_validate(values)
        if slo is None:
            slo = slo_changes.create(request.user, payload.model_dump(), current_project(request))
            messages.success(request, f"SLO “{slo.name}” created.")
        else:
            slo_changes.update(slo, request.user, payload.model_dump())
            messages.success(request, f"SLO “{slo.name}” saved.")
        return redirect("slo", slo.id)
    except (ValidationError, InputError) as error:
        errors = errors_of(error)
    if slo is not None:
        slo.refresh_from_db()
    return form_page(request, slo, values, errors, status=422)


def values_of(slo: SLO) -> dict:
    return {
        "name": slo.name,
        "service": slo_read.service_name(slo),
        "function": slo.function.name if slo.function_id else "",
        "objective": slo.objective,
        "target": slo.target,
        "latency_ms": slo.latency_ms,
        "window_days": slo.window_days,
        "burn_alerts": slo.burn_alerts,
        "channels": list(slo.rule.channels.values_list("id", flat=True)),
        "enabled": slo.enabled,
    }


@page_for("admin")
def new_slo(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return save(request, None)
    values = {"objective": "success", "target": 99.9, "window_days": 30, "channels": [], "enabled": True}
    if "service" in request.GET:
        values["service"] = request.GET["service"]
        values["function"] = request.GET.get("function", "")
    return form_page(request, None, values, {})


@page_for("viewer")
def edit_slo(request: HttpRequest, slo_id: int) -> HttpResponse:
    slo = acting_on(request, slo_read.listed(), "admin", id=slo_id)
    if request.method == "POST":
        return save(request, slo)
    return form_page(request, slo, values_of(slo), {})


@require_POST
@page_for("viewer")
def delete_slo(request: HttpRequest, slo_id: int) -> HttpResponse:
    slo = acting_on(request, slo_read.listed(), "admin", id=slo_id)
    slo_changes.delete(slo, request.user)
    messages.success(request, f"SLO “{slo.name}” deleted.")
    return redirect("slos")
