"""Every URL pattern and every API operation, walked by a stranger: an admin of their own
project with no role in the project that owns the seeded objects. Each answer must be a 404
(another project's object is not found, so its name does not leak), a refusal for the role
(401, 403, 405), or an answer that names none of the seeded objects; and at the end nothing
of theirs has changed.

The routes are read from the URL resolver and the operations from the OpenAPI document, so a
new page or endpoint is walked as soon as it exists: one without a scope check fails here,
unless it is listed in NOT_SCOPED_YET below."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import orjson
import pytest
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from alerts import escalation_changes, slo_changes
from alerts.api.slo_schemas import SLOIn
from alerts.models import (
    SLO,
    Alert,
    Channel,
    Delivery,
    EscalationPolicy,
    Rule,
    Silence,
    StatusComponent,
    StatusIncident,
    StatusPage,
)
from monitoring.models import IngestToken, Membership, Project, Service, Team, TeamGrant, UserToken
from resilience_site.api import api
from tests.alert_fixtures import make_alert, make_rule
from tests.browser import join
from tests.conftest import Reporter, call, now_iso

pytestmark = pytest.mark.django_db

# Every route is scoped by project now. A route that cannot be scoped yet goes here, with why;
# a new one without a scope check fails the walk. Keep it empty: scope the route instead.
NOT_SCOPED_YET: set[str] = set()

# Public by design: answered without a session, whoever asks, so the walk cannot treat them as
# scoped routes.
PUBLIC_BY_DESIGN = {
    # The public status page, its JSON and its feed answer anyone (no login) for an enabled
    # page; its slug is its public address and it shows only what its admins chose to publish
    # (component names they typed, published incidents). Their admin pages and API are scoped
    # (status-pages/..., /api/v1/status-pages...).
    "status/<slug:slug>/",
    "status/<slug:slug>.json",
    "status/<slug:slug>/feed.atom",
    # A signed action link in a notification (alerts/action_links.py): its own token names the
    # alert and authorises the action, for whoever holds it (as a recipient who forwards the
    # message lets someone act); a token the walk makes up answers 400, "not valid".
    "act/<str:token>/",
}

# Not the console's: Django's own admin site (staff only, its own permissions), and the API,
# walked below by operation.
SKIPPED_PREFIXES = ("admin/", "api/")
# What the stranger must never see.
SEEDED = ("their-service", "their-function", "their-queue", "Their project", "their-team", "victim")
REFUSED = {401, 403, 404, 405}
# A plausible body for each write, so that the answer comes from the view's own checks rather
# than from the body's validation (a 422 on an operation about one object fails the walk).
BODIES = {
    "PATCH /api/v1/services/{service_id}": {"name": "hijacked"},
    "POST /api/v1/services/{service_id}/tokens/{token_id}/rotate": {"grace_minutes": 0},
    "PATCH /api/v1/projects/{slug}": {"name": "hijacked"},
    "POST /api/v1/projects/{slug}/members": {"username": "stranger", "role": "admin"},
    "PATCH /api/v1/projects/{slug}/members/{username}": {"role": "viewer"},
    "POST /api/v1/projects/{slug}/teams": {"team": "their-team", "role": "viewer"},
    "POST /api/v1/teams/{team_id}/members": {"username": "stranger"},
    "PATCH /api/v1/users/{user_id}": {"role": "viewer"},
    "POST /api/v1/services": {"name": "mine-too"},
    "POST /api/v1/me/tokens": {"name": "walk"},
    "POST /api/v1/alerts/{alert_id}/suppress": {"minutes": 60},
    "POST /api/v1/alerts/{alert_id}/comment": {"text": "hijacked"},
    "POST /api/v1/incidents/{incident_id}/suppress": {"minutes": 60},
    "PUT /api/v1/rules/{rule_id}": {"name": "hijacked", "metric": "error_rate", "threshold": 1},
    "POST /api/v1/channels/{channel_id}/reveal": {"key": "secret"},
    "PUT /api/v1/slos/{slo_id}": {"name": "hijacked", "service": "mine-service", "target": 90},
    "POST /api/v1/status-pages/{page_id}/components": {"service": "mine-service", "public_name": "hijacked"},
    "POST /api/v1/status-pages/{page_id}/incidents": {"title": "hijacked"},
    "POST /api/v1/status-pages/{page_id}/incidents/{incident_id}/updates": {"state": "resolved", "body": "hijacked"},
}
FORM = {"name": "hijacked", "username": "stranger", "role": "admin", "project": "theirs", "team": "their-team"}


@pytest.fixture
def seeded(client: Client) -> dict:
    """Their project with a service that reported a failing function and a queue, a team, and a
    member with an API token; and the stranger, an admin of a project of their own."""
    theirs = Project.objects.create(name="Their project", slug="theirs")
    service = Service.objects.create(name="their-service", project=theirs)
    token, raw = IngestToken.issue(service=service)
    queue = {"queue": "their-queue", "ts": now_iso(), "depth": 9, "in_flight": 1, "dead_letter": 0}
    batch = {"calls": [call("their-function", "failure")] * 3, "queues": [queue]}
    assert Reporter(client, raw).post(batch).status_code == 202
    victim = User.objects.create_user("victim")
    join(victim, "admin", theirs)
    team = Team.objects.create(name="their-team")
    team.members.add(victim)
    TeamGrant.objects.create(team=team, project=theirs, role="responder")
    victim_token = UserToken.issue(user=victim)[0]
    # A firing alert on their service, its incident, and a dead-lettered notice of it.
    channel = Channel.objects.create(name="walk-log", kind="log", config={})
    alert = make_alert(make_rule(channel, service="their-service"), service="their-service", subject="their-function")
    delivery = Delivery.objects.create(
        alert=alert, incident=alert.incident, channel=channel, event="firing", state="dead", attempts=5
    )

    mine = Project.objects.create(name="Mine", slug="mine")
    Service.objects.create(name="mine-service", project=mine)
    stranger = User.objects.create_user("stranger")
    join(stranger, "admin", mine)
    return {
        **their_config(theirs),
        "service_id": service.id,
        "function_id": service.functions.get().id,
        "queue_id": service.queues.get().id,
        "token_id": token.id,
        "alert_id": alert.id,
        "incident_id": alert.incident_id,
        "delivery_id": delivery.id,
        "user_token_id": victim_token.id,
        "user_id": victim.id,
        "slug": "theirs",
        "team_id": team.id,
        "username": "victim",
        "name": "their-service",
        "stranger": stranger,
        "api_token": UserToken.issue(user=stranger)[1],
        # The owner's token narrowed to Mine: as much a stranger to theirs as the stranger.
        "narrowed_token": UserToken.issue(
            user=User.objects.create_user("boss", is_superuser=True, is_staff=True), project=mine
        )[1],
    }


def their_config(theirs: Project) -> dict:
    """Their project's rule, channel (with a dead delivery) and silence, named after their service."""
    channel = Channel.objects.create(name="their-service hook", kind="log", config={}, project=theirs)
    rule = Rule.objects.create(name="their-service errors", metric="error_rate", threshold=0.2, project=theirs)
    rule.channels.set([channel])
    alert = Alert.objects.create(
        rule=rule,
        fingerprint="function:1",
        service="their-service",
        subject="their-function",
        metric="error_rate",
        severity="high",
        threshold=0.2,
        summary="their-service failing",
    )
    delivery = Delivery.objects.create(alert=alert, channel=channel, event="firing", state="dead")
    silence = Silence.objects.create(
        service="their-service", project=theirs, ends_at=timezone.now() + timedelta(hours=1), comment="their-service"
    )
    slo = slo_changes.create(
        None, {**SLOIn(name="their-service SLO", service="their-service", target=99.0).model_dump()}, theirs
    )
    policy = escalation_changes.create(
        None, {"name": "their-service on-call", "steps": [{"wait_minutes": 5, "channels": [channel.id]}]}, theirs
    )
    page = StatusPage.objects.create(slug="their-status", title="their-service status", project=theirs)
    component = StatusComponent.objects.create(page=page, service_id=rule_service(theirs), public_name="their-service")
    published = StatusIncident.objects.create(page=page, title="their-service down", state="investigating")
    return {
        "rule_id": rule.id,
        "channel_id": channel.id,
        "channel_delivery_id": delivery.id,
        "silence_id": silence.id,
        "slo_id": slo.id,
        "policy_id": policy.id,
        "page_id": page.id,
        "component_id": component.id,
        "status_incident_id": published.id,
    }


def rule_service(theirs: Project) -> int:
    return Service.objects.get(project=theirs).id


def config_unchanged(seeded: dict) -> None:
    """Their rule, channel and silence are as they were."""
    rule = Rule.objects.get(id=seeded["rule_id"])
    assert rule.enabled and rule.name == "their-service errors"
    assert Channel.objects.get(id=seeded["channel_id"]).name == "their-service hook"
    assert Delivery.objects.get(id=seeded["channel_delivery_id"]).state == "dead"
    assert Silence.objects.get(id=seeded["silence_id"]).ends_at > timezone.now()
    assert SLO.objects.get(id=seeded["slo_id"]).name == "their-service SLO"
    assert EscalationPolicy.objects.get(id=seeded["policy_id"]).steps.count() == 1
    page = StatusPage.objects.get(id=seeded["page_id"])
    assert page.title == "their-service status" and page.components.count() == 1
    assert StatusIncident.objects.get(id=seeded["status_incident_id"]).state == "investigating"


def routes(patterns: list, prefix: str = "") -> Iterator[str]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def page_routes() -> list[str]:
    return [route for route in routes(get_resolver().url_patterns) if not route.startswith(SKIPPED_PREFIXES)]


def operations() -> list[tuple[str, str]]:
    schema = api.get_openapi_schema()
    return [(method.upper(), path) for path, ops in schema["paths"].items() for method in ops]


def value(name: str, route: str, seeded: dict) -> str:
    if name == "token_id" and route.startswith("settings/"):
        return str(seeded["user_token_id"])  # a person's API token there, not an ingest token
    if name == "incident_id" and "status-pages" in route:
        return str(seeded["status_incident_id"])  # a status page's incident there, not an alerts one
    if name == "delivery_id" and "channels" in route:
        return str(seeded["channel_delivery_id"])  # a delivery of their channel
    return str(seeded.get(name, 999_999))


def fill_route(route: str, seeded: dict) -> str:
    url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: value(m.group(1), route, seeded), route)
    if route == "fragments/functions/rows":
        url += f"?ids={seeded['function_id']}"
    return "/" + url


def fill_path(path: str, seeded: dict) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: value(m.group(1), path, seeded), path)


def problem(answer: HttpResponse, may_refuse_body: bool = False) -> str | None:
    """Why this answer fails the walk, or None."""
    if answer.status_code in REFUSED or (may_refuse_body and answer.status_code == 422):
        return None
    if answer.status_code >= 400:
        return f"answered {answer.status_code}"
    shown = answer.content.decode(errors="replace") + answer.get("Location", "")
    leaked = [name for name in SEEDED if name in shown]
    return f"shows {leaked}" if leaked else None


def test_every_page_keeps_another_projects_objects_out_of_sight(client: Client, seeded: dict) -> None:
    failures = []
    for route in page_routes():
        if route in NOT_SCOPED_YET or route in PUBLIC_BY_DESIGN:
            continue
        url = fill_route(route, seeded)
        for method in ("GET", "POST"):
            client.force_login(seeded["stranger"])  # again: the walk passes by logout/
            answer = client.get(url) if method == "GET" else client.post(url, FORM)
            why = problem(answer, may_refuse_body="<" not in route)
            if why:
                failures.append(f"{method} {url} ({route}): {why}")
    assert not failures, "\n".join(failures)
    unchanged(seeded)


@pytest.mark.parametrize("how", ["token", "session", "narrowed"])
def test_every_api_operation_keeps_another_projects_objects_out_of_sight(
    client: Client, seeded: dict, how: str
) -> None:
    headers = {"Authorization": f"Bearer {seeded['api_token']}"} if how == "token" else {}
    if how == "narrowed":
        headers = {"Authorization": f"Bearer {seeded['narrowed_token']}"}
    if how == "session":
        client.force_login(seeded["stranger"])
    failures = []
    for method, path in operations():
        key = f"{method} {path}"
        if key in NOT_SCOPED_YET or not path.startswith("/api/"):
            continue
        if how == "session" and method != "GET":
            continue  # a session's writes are the pages' (walked above), with CSRF
        body = orjson.dumps(BODIES.get(key, {}))
        url = fill_path(path, seeded)
        answer = client.generic(method, url, body, content_type="application/json", headers=headers)
        # A 422 proves nothing about an object, so it passes only where the path names none.
        why = problem(answer, may_refuse_body="{" not in path)
        if why:
            failures.append(f"{key} -> {url}: {why}")
    assert not failures, "\n".join(failures)
    unchanged(seeded)


def unchanged(seeded: dict) -> None:
    """Nothing of theirs was changed by the walk."""
    service = Service.objects.get(id=seeded["service_id"])
    assert service.name == "their-service" and service.project.name == "Their project"
    assert IngestToken.objects.get(id=seeded["token_id"]).state == "active"
    assert not Membership.objects.filter(project=service.project, user=seeded["stranger"]).exists()
    assert Membership.objects.get(project=service.project, user__username="victim").role == "admin"
    assert list(Team.objects.get(id=seeded["team_id"]).members.values_list("username", flat=True)) == ["victim"]
    assert UserToken.objects.get(id=seeded["user_token_id"]).revoked is None
    alert = Alert.objects.get(id=seeded["alert_id"])
    assert alert.state == "firing" and alert.suppressed_until is None and not alert.events.exists()
    assert Delivery.objects.get(id=seeded["delivery_id"]).state == "dead"
    config_unchanged(seeded)


def test_every_route_listed_as_not_scoped_yet_still_exists() -> None:
    """The list shrinks as routes are scoped; a name left behind would hide nothing but confuse."""
    known = set(page_routes()) | {f"{method} {path}" for method, path in operations()}
    assert NOT_SCOPED_YET - known == set()
    assert PUBLIC_BY_DESIGN - known == set()
