"""What the dashboard shows at a glance: overall figures, the functions most in trouble,
the queues backing up and the alerts firing, composed from every app's read layer.

Of the projects the person may see: the owner (and anyone in every project) gets the whole
fleet's figures; anyone else those of their projects' services (monitoring/projects.py).
"""

from __future__ import annotations

from collections import Counter

from django.db.models import Count, OuterRef, QuerySet, Subquery

from alerts.models import Alert, AlertState
from monitoring.health import judged_rows, stale_before
from monitoring.models import Breaker, BreakerState, Function, Service
from monitoring.projects import User, scoped, sees_whole_fleet, visible_projects
from monitoring.read import (
    calls_over,
    functions_out,
    in_trouble,
    needs_histograms,
    open_breakers,
    p95_over,
    success_rate,
    trouble_candidates,
)
from queues.models import Queue
from queues.read import queues_backing_up


def firing_alerts(user: User | None) -> int:
    """Alerts firing and not yet acknowledged, of the person's projects (an alert's project is
    its service's; one on a service no project holds counts as the default project's)."""
    return scoped(Alert.objects.filter(state=AlertState.FIRING), user).count()


def stale_functions(functions: QuerySet[Function]) -> int:
    """Functions that reported once and have stopped: counted apart, not as healthy."""
    return functions.filter(last_seen__lt=stale_before()).count()


def figures(user: User | None) -> dict:
    whole = sees_whole_fleet(user)
    functions = Function.objects.all() if whole else scoped(Function.objects.all(), user)
    only = None if whole else functions
    five, hour = calls_over(5, only), calls_over(60, only)
    return {
        "calls_5m": five.calls,
        "success_rate_5m": success_rate(five),
        "calls_1h": hour.calls,
        "success_rate_1h": success_rate(hour),
        "p95_ms_5m": p95_over(5, only),
        "open_breakers": open_breakers(only),
        "stale_functions": stale_functions(functions),
        "queues_backing_up": queues_backing_up(
            None if whole else scoped(Queue.objects.select_related("service"), user)
        ),
        "firing_alerts": firing_alerts(user),
    }


def overview_figures(user: User | None) -> dict:
    """The overview's figures for what the person may see."""
    whole = sees_whole_fleet(user)
    functions = Function.objects.all() if whole else scoped(Function.objects.all(), user)
    trouble = in_trouble(functions=None if whole else functions.select_related("service"))
    return {**figures(user), "functions": functions.count(), "trouble": trouble}


def project_summaries(user: User | None) -> list[dict]:
    """For a person in several projects: a row per project (by name) with its services,
    functions in trouble, open breakers and firing alerts; [] for someone in one project.

    Set-based: one query per figure for all the projects together, never one per project.
    """
    shown = list(visible_projects(user).order_by("name", "id").values("id", "name", "slug"))
    if len(shown) < 2:
        return []
    ids = [project["id"] for project in shown]
    services = dict(
        Service.objects.filter(project__in=ids).values("project").annotate(n=Count("id")).values_list("project", "n")
    )
    breakers = dict(
        Breaker.objects.filter(state=BreakerState.OPEN, updated__gte=stale_before(), function__service__project__in=ids)
        .values("function__service__project")
        .annotate(n=Count("function", distinct=True))
        .values_list("function__service__project", "n")
    )
    project_of_alert = Service.objects.filter(name=OuterRef("service")).values("project_id")[:1]
    alerts = dict(
        Alert.objects.filter(state=AlertState.FIRING)
        .annotate(project=Subquery(project_of_alert))
        .filter(project__in=ids)
        .values("project")
        .annotate(n=Count("id"))
        .values_list("project", "n")
    )
    trouble = trouble_by_project(Function.objects.filter(service__project__in=ids))
    return [
        {
            **project,
            "services": services.get(project["id"], 0),
            "trouble": trouble.get(project["id"], 0),
            "open_breakers": breakers.get(project["id"], 0),
            "firing_alerts": alerts.get(project["id"], 0),
        }
        for project in shown
    ]


def trouble_by_project(functions: QuerySet[Function]) -> dict[int, int]:
    """{project id: functions unhealthy or degraded}, judged as the overview's list judges them:
    by the database in one statement, or (with a p95 limit, which needs the histograms) in
    Python over the candidates only."""
    projects = dict(Service.objects.values_list("name", "project_id"))
    if needs_histograms():
        candidates = functions.select_related("service").filter(trouble_candidates())
        rows = [row for row in functions_out(list(candidates)) if row["health"] in TROUBLE]
        return dict(Counter(projects[row["service"]] for row in rows))
    found = judged_rows(functions, "service, COUNT(*)", "WHERE health IN (%s, %s) GROUP BY service", TROUBLE)
    counts: Counter[int] = Counter()
    for service, n in found:
        counts[projects[service]] += n
    return dict(counts)


TROUBLE = ("unhealthy", "degraded")
