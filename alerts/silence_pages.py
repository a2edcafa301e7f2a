"""The silences pages (responders and admins): the list by state, one silence with its
history, the form with its preview, and ending one early. Changes go through
alerts/silence_changes.py, as the API's do; the form is parsed into the API's SilenceIn."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from monitoring import audit
from monitoring.auth import acting_on, page_for
from monitoring.errors import InputError
from monitoring.forms import field_errors, form_values, parse
from monitoring.paging import MAX_OFFSET
from monitoring.projects import current_project, scoped
from monitoring.views import page

from . import silence_changes, silences
from .api.schemas import SilenceIn, zone_names
from .models import DAY_NAMES, Rule, Severity, Silence

PAGE_SIZE = 50
UPCOMING_SHOWN = 5
TAB_WORDS = {"active": "Active", "scheduled": "Scheduled", "expired": "Expired"}
DURATIONS = [(30, "30 minutes"), (60, "1 hour"), (120, "2 hours"), (240, "4 hours"), (480, "8 hours"), (1440, "1 day")]
# Form fields the API does not have: which kind of silence, and the recurring section's own
# length and end (named apart from the one-off ones, as both sections are in one form).
RECURRING_FIELDS = {"minutes": "repeat_minutes", "ends_at": "repeat_until"}


def offset_of(query: QueryDict) -> int:
    text = query.get("offset", "")
    return min(int(text), MAX_OFFSET) if text.isdigit() else 0


def in_zone(moment: datetime | None, zone_name: str) -> str:
    """A time as read on a wall clock in the silence's own zone: "Sun 29 Nov 2026 02:00"."""
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(zone_name)).strftime("%a %d %b %Y %H:%M")


def shown(silence: Silence, now: datetime) -> dict:
    row = silences.as_dict(silence, now)
    starts, ends = row["window_starts_at"], row["window_ends_at"]
    if row["state"] == "expired":
        starts, ends = silence.starts_at, silence.ends_at
    return row | {
        "shown_starts": starts,
        "shown_ends": ends,
        "local_starts": in_zone(starts, silence.time_zone),
        "not_started": silence.starts_at > now,
        "project_name": silence.project.name,
    }


@page_for("responder")
def silence_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    state = request.GET.get("state") if request.GET.get("state") in silences.STATES else "active"
    offset = offset_of(request.GET)
    found = scoped(silences.in_state(state, now), request.user)
    count = found.count()
    items = [shown(s, now) for s in found[offset : offset + PAGE_SIZE]]
    end = offset + len(items)
    pager = {
        "count": count,
        "previous": "?" + urlencode({"state": state, "offset": max(0, offset - PAGE_SIZE)}) if offset else None,
        "next": "?" + urlencode({"state": state, "offset": end}) if end < count else None,
    }
    tabs = [{"state": s, "label": TAB_WORDS[s], "url": "?" + urlencode({"state": s})} for s in silences.STATES]
    return page(request, "alerts/silences.html", "silences", silences=items, state=state, tabs=tabs, pager=pager)


@page_for("viewer")
def silence_detail(request: HttpRequest, silence_id: int) -> HttpResponse:
    found = Silence.objects.select_related("rule", "created_by", "project")
    silence = acting_on(request, found, "responder", id=silence_id)
    now = timezone.now()
    upcoming = []
    if silence.is_recurring:
        since = max(now, silence.starts_at)
        for starts, ends in silence.windows(since, since + timedelta(days=60)):
            upcoming.append({"starts": starts, "ends": ends, "local": in_zone(starts, silence.time_zone)})
            if len(upcoming) == UPCOMING_SHOWN:
                break
    history = audit.history("silence", silence.id)
    return page(
        request, "alerts/silence.html", "silences", silence=shown(silence, now), upcoming=upcoming, history=history
    )


def form_context(request: HttpRequest, values: dict, errors: dict[str, str]) -> dict:
    project = current_project(request)
    return {
        "project": project,
        "values": values,
        "errors": errors,
        "rules": Rule.objects.filter(project=project).only("id", "name"),
        "severities": Severity.values,
        "zones": sorted(zone_names()),
        "days": list(enumerate(DAY_NAMES)),
        "durations": DURATIONS,
    }


def as_number(text: object) -> object:
    return int(text) if isinstance(text, str) and text.isdigit() else text


def local_moment(text: str, zone_name: str) -> str:
    """A datetime-local field ("2026-11-23T02:00"), read in the chosen zone, as ISO 8601 with its offset."""
    zone = ZoneInfo(zone_name if zone_name in zone_names() else "UTC")
    return datetime.fromisoformat(text).replace(tzinfo=zone).isoformat()


def api_values(values: dict) -> tuple[dict, dict[str, str]]:
    """The API body a filled-in form stands for, and errors in the fields only the page has."""
    body = {k: values[k] for k in ("service", "subject", "severity", "comment", "time_zone") if k in values}
    body["rule"] = as_number(values.get("rule"))
    zone_name = values.get("time_zone", "UTC")
    moments = {}
    page_errors: dict[str, str] = {}
    if values.get("kind") == "recurring":
        body |= {
            "days": values["days"],
            "start_time": values.get("start_time"),
            "minutes": values.get("repeat_minutes"),
        }
        moments["ends_at"] = values.get("repeat_until")
        if not values["days"]:
            # Without days the API would read a one-off silence: say what the form lacks.
            page_errors["days"] = "pick at least one day for a recurring window"
    else:
        body |= {"expire_on_resolve": values["expire_on_resolve"]}
        if values.get("start") == "later":
            moments["starts_at"] = values.get("starts_at", "")
        if values.get("end") == "until":
            moments["ends_at"] = values.get("ends_at", "")
        else:
            body["minutes"] = values.get("minutes")
    for name, text in moments.items():
        if text is None:
            continue
        try:
            body[name] = local_moment(text, zone_name)
        except ValueError:
            page_errors[name] = "give a date and a time"
    body["minutes"] = as_number(body.get("minutes"))
    return {k: v for k, v in body.items() if v is not None}, page_errors


def form_names(errors: dict[str, str], values: dict) -> dict[str, str]:
    """The API's field names as the form's: the recurring section has its own length and end."""
    if values.get("kind") != "recurring":
        return errors
    return {RECURRING_FIELDS.get(name, name): message for name, message in errors.items()}


def submitted(request: HttpRequest) -> tuple[dict, SilenceIn | None, dict[str, str]]:
    """(what the user typed, the parsed body or None, errors by form field)."""
    values = form_values(request.POST, lists=("days",), checkboxes=("expire_on_resolve",))
    body, errors = api_values(values)
    payload, schema_errors = parse(SilenceIn, body)
    errors = form_names(schema_errors, values) | form_names(errors, values)
    return values, (None if errors else payload), errors


@page_for("responder")
def new_silence(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        given = {
            name: request.GET[name] for name in ("service", "subject", "severity", "rule") if request.GET.get(name)
        }
        values = {"kind": "once", "start": "now", "end": "for", "minutes": "120", "days": []} | given
        return page(request, "alerts/silence_form.html", "silences", **form_context(request, values, {}))
    values, payload, errors = submitted(request)
    if payload is not None:
        try:
            silence = silence_changes.create(request.user, payload, current_project(request))
        except InputError as error:
            errors = form_names(field_errors(error), values)
        else:
            state = silence.state(timezone.now())
            messages.success(request, f"Silence #{silence.id} created ({state}).")
            return redirect(f"/silences/?state={state}")
    response = page(request, "alerts/silence_form.html", "silences", **form_context(request, values, errors))
    response.status_code = 422
    return response


@require_POST
@page_for("responder")
def preview(request: HttpRequest) -> HttpResponse:
    """The form's preview (htmx): the open alerts it would hold now."""
    _, payload, errors = submitted(request)
    found = None
    if payload is not None:
        try:
            found = silence_changes.preview(payload, current_project(request))
        except InputError as error:
            errors = form_names(field_errors(error), request.POST)
    return page(request, "alerts/_silence_preview.html", "silences", preview=found, errors=errors)


@require_POST
@page_for("viewer")
def end(request: HttpRequest, silence_id: int) -> HttpResponse:
    silence = acting_on(request, Silence, "responder", id=silence_id)
    outcome = silence_changes.end(silence, request.user)
    if outcome == audit.DELETED:
        messages.success(request, f"Silence #{silence_id} cancelled before it started.")
    elif outcome:
        messages.success(request, f"Silence #{silence_id} ended.")
    else:
        messages.warning(request, f"Silence #{silence_id} was already over.")
    return redirect("/silences/?state=expired" if outcome == silences.ENDED else "/silences/")
