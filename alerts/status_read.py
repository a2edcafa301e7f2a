"""What a status page shows the public, read once for its HTML, its JSON and its feed.

Only what the admin chose is read out: each component's public name, its status, its
uptime bars, and (with "show figures") its 90-day uptime and current error rate; incidents
by their public titles and the updates admins wrote. No service, function or rule name.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Prefetch, Q
from django.utils import timezone

from monitoring.health import judged_rows
from monitoring.models import Function
from monitoring.read import functions_out, needs_histograms

from . import status_uptime
from .models import StatusComponent, StatusIncident, StatusIncidentState, StatusPage, StatusUpdate

PAST_DAYS = 14
# A function's health (monitoring/health.py) as a status: stale and unknown read "no data".
STATUS_OF_HEALTH = {"healthy": "operational", "degraded": "degraded", "unhealthy": "outage"}
STATUS_WORDS = {
    "operational": "Operational",
    "degraded": "Degraded performance",
    "outage": "Outage",
    "no_data": "No data",
}
# A bar is green from 99% uptime, amber from 95%, red below.
GOOD, FAIR = 0.99, 0.95
RANK = {"outage": 0, "degraded": 1, "operational": 2, "no_data": 3}


def uptime_definition() -> str:
    limit = settings.MONITOR_HEALTH_DEGRADED_ERROR_RATE
    return (
        f"A day's uptime is the share of its hours (UTC) with calls whose error rate stayed under {limit:.0%}; "
        "a day without calls shows no data."
    )


def function_health(components: list[StatusComponent]) -> list[tuple[int, str, str, int, float | None]]:
    """(function id, service name, health, calls, error rate) of every function the components cover."""
    services = {c.service_id for c in components if not c.function_id}
    ids = {c.function_id for c in components if c.function_id}
    functions = Function.objects.filter(Q(service_id__in=services) | Q(id__in=ids))
    if needs_histograms():
        rows = functions_out(list(functions.select_related("service")))
        return [(r["id"], r["service"], r["health"], r["calls_5m"], r["error_rate_5m"]) for r in rows]
    return judged_rows(functions, "id, service, health, calls, error_rate")


def worst(statuses: list[str]) -> str:
    known = [s for s in statuses if s != "no_data"]
    return min(known, key=RANK.__getitem__) if known else "no_data"


def current(components: list[StatusComponent]) -> dict[int, dict]:
    """{component id: {"status", "calls", "error_rate"}} over the last 5 minutes."""
    rows = function_health(components) if components else []
    out = {}
    for component in components:
        if component.function_id:
            mine = [r for r in rows if r[0] == component.function_id]
        else:
            mine = [r for r in rows if r[1] == component.service.name]
        calls = sum(r[3] for r in mine)
        errors = sum(r[3] * r[4] for r in mine if r[4] is not None)
        out[component.id] = {
            "status": worst([STATUS_OF_HEALTH.get(r[2], "no_data") for r in mine]),
            "calls": calls,
            "error_rate": errors / calls if calls else None,
        }
    return out


def banner(statuses: list[str]) -> dict:
    overall = worst(statuses)
    if overall == "outage":
        words = "Major outage" if all(s == "outage" for s in statuses) else "Partial outage"
    elif overall == "degraded":
        words = "Degraded performance"
    elif overall == "operational":
        words = "All systems operational"
    else:
        words = "No current data"
    return {"indicator": overall, "description": words}


def incident_out(incident: StatusIncident) -> dict:
    return {
        "id": incident.id,
        "title": incident.title,
        "state": incident.state,
        "started_at": incident.started_at,
        "resolved_at": incident.resolved_at,
        "updated": incident.updated,
        "updates": [{"at": u.at, "state": u.state, "body": u.body} for u in incident.updates.all()],
    }


def incidents(page: StatusPage, now: datetime) -> tuple[list[dict], list[dict]]:
    """(active incidents, incidents resolved in the last 14 days), newest first."""
    shown = (
        page.incidents.filter(
            ~Q(state=StatusIncidentState.RESOLVED) | Q(resolved_at__gte=now - timedelta(days=PAST_DAYS))
        )
        .prefetch_related(Prefetch("updates", StatusUpdate.objects.order_by("-at", "-id")))
        .order_by("-started_at", "-id")
    )
    found = [incident_out(i) for i in shown]
    return [i for i in found if i["state"] != "resolved"], [i for i in found if i["state"] == "resolved"]


def public_view(page: StatusPage, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    components = list(page.components.select_related("service"))
    uptime = status_uptime.days(page, components, now)
    status = current(components)
    shown = []
    for component in components:
        row = {
            "name": component.public_name,
            "status": status[component.id]["status"],
            "status_text": STATUS_WORDS[status[component.id]["status"]],
            "days": uptime[component.id]["days"],
        }
        if page.show_figures:
            row["uptime_90d"] = uptime[component.id]["uptime"]
            row["error_rate_5m"] = status[component.id]["error_rate"]
        shown.append(row)
    active, past = incidents(page, now)
    return {
        "title": page.title,
        "description": page.description,
        "slug": page.slug,
        "status": banner([row["status"] for row in shown]),
        "components": shown,
        "active_incidents": active,
        "past_incidents": past,
        "show_figures": page.show_figures,
        "uptime_definition": uptime_definition(),
        "generated_at": now.replace(second=0, microsecond=0),
    }


def bar(day: dict) -> dict:
    """A day's bar as the HTML draws it: its colour, and the tooltip saying the day and the uptime."""
    uptime, when = day["uptime"], f"{day['date']:%d %b %Y}"
    if uptime is None:
        return day | {"level": "none", "title": f"{when}: no data"}
    level = "good" if uptime >= GOOD else "fair" if uptime >= FAIR else "poor"
    return day | {"level": level, "title": f"{when}: {uptime:.2%} uptime"}


def figures(row: dict) -> str:
    """ "99.52 % uptime over 90 days · 0.40 % errors now", on pages that show figures."""
    if "uptime_90d" not in row:
        return ""
    uptime, rate = row["uptime_90d"], row["error_rate_5m"]
    parts = ["no data over 90 days" if uptime is None else f"{uptime:.2%} uptime over 90 days"]
    parts.append("no calls now" if rate is None else f"{rate:.2%} errors now")
    return " · ".join(parts)


def with_bars(view: dict) -> dict:
    """The view as the HTML draws it: each day's bar, and the figures in words."""
    components = [
        row | {"days": [bar(day) for day in row["days"]], "figures": figures(row)} for row in view["components"]
    ]
    return view | {"components": components}


def as_json(view: dict) -> dict:
    """The public JSON (docs/status-page.md): the view with dates as ISO text."""
    components = []
    for row in view["components"]:
        out = {k: v for k, v in row.items() if k not in ("status_text", "days")}
        out["days"] = [{"date": d["date"].isoformat(), "uptime": d["uptime"]} for d in row["days"]]
        components.append(out)
    return {
        "page": {"title": view["title"], "description": view["description"], "url": f"/status/{view['slug']}/"},
        "status": view["status"],
        "components": components,
        "active_incidents": view["active_incidents"],
        "past_incidents": view["past_incidents"],
        "uptime_definition": view["uptime_definition"],
        "generated_at": view["generated_at"],
    }
