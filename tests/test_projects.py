"""Projects, memberships and teams: the role a person has in each project."""

from __future__ import annotations

import importlib

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from monitoring import projects
from monitoring.auth import role_of
from monitoring.models import Membership, Project, Service, Team, TeamGrant
from tests.browser import join, make_user

pytestmark = pytest.mark.django_db


def fresh(user: User) -> User:
    """The person as the next request reads them (roles are kept for one request)."""
    return User.objects.get(pk=user.pk)


def test_a_service_made_without_a_project_goes_to_the_default_one() -> None:
    service = Service.objects.create(name="payments")
    assert service.project == Project.objects.default()
    assert Project.objects.get(slug="default").name == "Default"


def test_the_owner_is_admin_everywhere_and_a_stranger_nowhere() -> None:
    other = Project.objects.create(name="AI platform", slug="ai")
    owner, stranger = make_user("admin"), User.objects.create_user("stranger")
    assert projects.role_in(owner, other) == "admin"
    assert projects.role_in(stranger, other) is None
    assert role_of(stranger) is None
    assert list(projects.visible_projects(stranger)) == []


def test_the_highest_of_membership_and_team_grants_counts() -> None:
    payments = Project.objects.create(name="Payments", slug="payments")
    ai = Project.objects.create(name="AI platform", slug="ai")
    dana = User.objects.create_user("dana")
    join(dana, "viewer", payments)
    team = Team.objects.create(name="payments on-call")
    team.members.add(dana)
    TeamGrant.objects.create(team=team, project=payments, role="responder")
    TeamGrant.objects.create(team=team, project=ai, role="viewer")
    dana = fresh(dana)
    assert projects.role_in(dana, payments) == "responder"
    assert projects.role_in(dana, ai) == "viewer"
    assert projects.role_in(dana, Project.objects.default()) is None
    assert set(projects.visible_projects(dana)) == {payments, ai}


def test_scoped_keeps_only_the_projects_a_person_sees() -> None:
    ai = Project.objects.create(name="AI platform", slug="ai")
    mine, theirs = Service.objects.create(name="checkout"), Service.objects.create(name="llm", project=ai)
    viewer = make_user("viewer")
    assert list(projects.scoped(Service.objects.all(), viewer)) == [mine]
    assert set(projects.scoped(Service.objects.all(), make_user("admin"))) == {mine, theirs}
    assert list(projects.scoped(Service.objects.all(), None)) == []


def test_the_current_project_is_the_switchers_choice(client: Client) -> None:
    ai = Project.objects.create(name="AI platform", slug="ai")
    dana = make_user("responder", "dana")
    join(dana, "viewer", ai)
    client.force_login(dana)
    # First by name: "AI platform", where dana is a viewer (the nav shows no responder links).
    assert client.get("/").context["role"] == "viewer"
    assert client.post("/projects/switch/", {"project": "default", "next": "/functions/"}).url == "/functions/"
    assert client.get("/").context["role"] == "responder"
    assert client.post("/projects/switch/", {"project": "nope"}).status_code == 404


def test_the_data_migration_gives_everyone_their_role_today_in_the_default_project() -> None:
    migration = "0019_projects"
    state = MigrationExecutor(connection).loader.project_state(("monitoring", migration))
    staff = User.objects.create_user("bob", is_staff=True)
    plain = User.objects.create_user("carol")
    owner = User.objects.create_superuser("alice")
    service = Service.objects.create(name="payments")
    importlib.import_module(f"monitoring.migrations.{migration}").default_project(state.apps, None)
    default = Project.objects.get(slug="default")
    assert Service.objects.get(id=service.id).project == default
    roles = dict(Membership.objects.filter(project=default).values_list("user__username", "role"))
    assert roles == {"bob": "responder", "carol": "viewer", "alice": "admin"}
    assert [role_of(fresh(u)) for u in (staff, plain, owner)] == ["responder", "viewer", "admin"]
