"""The projects and teams API: members read, the project's admins manage members and teams,
the owner manages projects and teams; every change is in the audit trail."""

from __future__ import annotations

import orjson
import pytest
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.test import Client

from monitoring.models import AuditEntry, Membership, Project, Service, Team, TeamGrant
from tests.browser import join, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def ai() -> Project:
    project = Project.objects.create(name="AI platform", slug="ai")
    Service.objects.create(name="llm", project=project)
    return project


def send(client: Client, method: str, path: str, body: dict | None = None) -> HttpResponse:
    data = orjson.dumps(body) if body is not None else None
    return getattr(client, method)(f"/api/v1{path}", data, content_type="application/json")


def person(client: Client, role: str | None, project: Project) -> User | None:
    """Log in as: the owner, an admin/responder/viewer of project, or a stranger (None: anonymous)."""
    if role is None:
        return None
    if role == "owner":
        user = make_user("admin")
    else:
        user = User.objects.create_user(role)
        if role != "stranger":
            join(user, role, project)
    client.force_login(user)
    return user


# (method, path, body, the least role that may) for every operation of one project.
OPERATIONS = [
    ("get", "/projects/ai", None, "viewer"),
    ("post", "/projects/ai/members", {"username": "frank", "role": "viewer"}, "admin"),
    ("patch", "/projects/ai/members/grace", {"role": "responder"}, "admin"),
    ("delete", "/projects/ai/members/grace", None, "admin"),
    ("post", "/projects/ai/teams", {"team": "ml", "role": "viewer"}, "admin"),
    ("delete", "/projects/ai/teams/{team}", None, "admin"),
    ("patch", "/projects/ai", {"name": "AI"}, "owner"),
]
RANKS = ["stranger", "viewer", "responder", "admin", "owner"]


@pytest.mark.parametrize("who", [None, *RANKS])
@pytest.mark.parametrize(("method", "path", "body", "least"), OPERATIONS)
def test_each_project_operation_is_for_its_role(
    client: Client, ai: Project, who: str | None, method: str, path: str, body: dict | None, least: str
) -> None:
    User.objects.create_user("frank")
    join(User.objects.create_user("grace"), "viewer", ai)
    team = Team.objects.create(name="ml")
    if "{team}" in path:
        TeamGrant.objects.create(team=team, project=ai, role="viewer")
    person(client, who, ai)
    status = send(client, method, path.format(team=team.id), body).status_code
    if who is None:
        assert status == 401
    elif who == "stranger":
        assert status == 404  # the project's name does not leak
    elif RANKS.index(who) < RANKS.index(least):
        assert status == 403
    else:
        assert status in (200, 204), status


@pytest.mark.parametrize("who", [None, *RANKS])
def test_projects_list_shows_each_person_their_own(client: Client, ai: Project, who: str | None) -> None:
    Project.objects.default()
    person(client, who, ai)
    answer = send(client, "get", "/projects")
    if who is None:
        assert answer.status_code == 401
        return
    shown = {row["slug"]: row["role"] for row in answer.json()}
    expected = {
        "stranger": {},
        "viewer": {"ai": "viewer"},
        "responder": {"ai": "responder"},
        "admin": {"ai": "admin"},
        "owner": {"ai": "admin", "default": "admin"},
    }[who]
    assert shown == expected


@pytest.mark.parametrize("who", [None, *RANKS])
def test_only_the_owner_creates_and_deletes_projects_and_teams(client: Client, ai: Project, who: str | None) -> None:
    person(client, who, ai)
    made = send(client, "post", "/projects", {"name": "Payments"})
    team = send(client, "post", "/teams", {"name": "on-call"})
    if who is None:
        assert (made.status_code, team.status_code) == (401, 401)
        return
    if who != "owner":
        assert (made.status_code, team.status_code) == (403, 403)
        return
    assert made.status_code == 201 and made.json()["slug"] == "payments"
    assert team.status_code == 201
    team_id = team.json()["id"]
    assert send(client, "post", f"/teams/{team_id}/members", {"username": "admin"}).json()["members"] == ["admin"]
    assert send(client, "delete", "/projects/payments").status_code == 204
    assert send(client, "delete", f"/teams/{team_id}").status_code == 204


def test_a_project_with_services_is_not_deleted(client: Client, ai: Project) -> None:
    person(client, "owner", ai)
    refused = send(client, "delete", "/projects/ai")
    assert refused.status_code == 422 and "still has services" in refused.content.decode()
    assert send(client, "delete", "/projects/default").status_code in (404, 422)


def test_team_members_get_the_teams_role_and_changes_are_audited(client: Client, ai: Project) -> None:
    person(client, "owner", ai)
    dana = User.objects.create_user("dana")
    team = send(client, "post", "/teams", {"name": "ml"}).json()
    assert send(client, "post", f"/teams/{team['id']}/members", {"username": "dana"}).json()["members"] == ["dana"]
    granted = send(client, "post", "/projects/ai/teams", {"team": "ml", "role": "responder"})
    assert granted.json()["teams"] == [{"id": team["id"], "name": "ml", "role": "responder"}]
    other = Client()
    other.force_login(dana)
    assert [row["slug"] for row in send(other, "get", "/projects").json()] == ["ai"]
    assert [row["name"] for row in send(other, "get", "/services").json()] == ["llm"]
    assert send(other, "get", "/teams").json()[0]["name"] == "ml"
    assert send(client, "delete", f"/teams/{team['id']}/members/dana").status_code == 204
    assert send(other, "get", "/projects").json() == []
    actions = list(AuditEntry.objects.filter(kind__in=("project", "team")).values_list("kind", "action"))
    assert ("team", "created") in actions and ("project", "team granted") in actions
    assert ("team", "member added") in actions and ("team", "member removed") in actions


def test_an_admin_adds_a_member_who_then_sees_the_project(client: Client, ai: Project) -> None:
    person(client, "admin", ai)
    User.objects.create_user("erin")
    added = send(client, "post", "/projects/ai/members", {"username": "erin", "role": "responder"})
    assert {"username": "erin", "role": "responder", "active": True} in added.json()["members"]
    assert Membership.objects.get(user__username="erin").role == "responder"
    unknown = send(client, "post", "/projects/ai/members", {"username": "nobody"})
    assert unknown.status_code == 422 and "nobody" in unknown.content.decode()
    bad_role = send(client, "post", "/projects/ai/members", {"username": "erin", "role": "owner"})
    assert bad_role.status_code == 422
    entry = AuditEntry.objects.get(kind="project", action="member added")
    assert entry.after == {"member": "erin", "role": "responder"} and entry.actor_name == "admin"
