"""The project pages for each role: who may open them, and their forms' answers."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from alerts.models import Channel
from monitoring.models import AuditEntry, Membership, Project, Service, Team
from tests.browser import join, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def ai() -> Project:
    project = Project.objects.create(name="AI platform", slug="ai")
    Service.objects.create(name="llm", project=project)
    return project


def as_role(client: Client, role: str, project: Project) -> User:
    if role == "owner":
        user = make_user("admin")
    else:
        user = User.objects.create_user(role)
        if role != "stranger":
            join(user, role, project)
    client.force_login(user)
    return user


@pytest.mark.parametrize(
    ("role", "settings", "teams"),
    [("stranger", 404, 403), ("viewer", 403, 403), ("responder", 403, 403), ("admin", 200, 403), ("owner", 200, 200)],
)
def test_who_opens_which_page(client: Client, ai: Project, role: str, settings: int, teams: int) -> None:
    as_role(client, role, ai)
    listed = client.get("/projects/")
    assert listed.status_code == 200
    assert ("AI platform" in listed.content.decode()) == (role != "stranger")
    assert ("New project" in listed.content.decode()) == (role == "owner")
    assert client.get("/projects/ai/settings/").status_code == settings
    assert client.get("/teams/").status_code == teams


def test_anonymous_people_are_sent_to_log_in(client: Client, ai: Project) -> None:
    for path in ("/projects/", "/projects/ai/settings/", "/teams/"):
        assert client.get(path).url.startswith("/login/")


def test_a_project_admin_adds_a_member_and_sees_errors_by_the_field(client: Client, ai: Project) -> None:
    as_role(client, "admin", ai)
    User.objects.create_user("erin")
    added = client.post("/projects/ai/members/", {"username": "erin", "role": "responder"})
    assert added.status_code == 302
    assert Membership.objects.get(user__username="erin", project=ai).role == "responder"
    wrong = client.post("/projects/ai/members/", {"username": "nobody", "role": "viewer"})
    page = wrong.content.decode()
    assert wrong.status_code == 422
    assert 'id="member-username-error"' in page and "nobody active is called “nobody”" in page
    assert 'aria-describedby="member-username-error"' in page and 'value="nobody"' in page
    assert client.post("/projects/ai/members/erin/remove/").status_code == 302
    assert not Membership.objects.filter(user__username="erin").exists()
    actions = list(AuditEntry.objects.filter(kind="project").order_by("id").values_list("action", flat=True))
    assert actions == ["member added", "member removed"]
    # Renaming and deleting are the owner's.
    assert client.post("/projects/ai/rename/", {"name": "AI"}).status_code == 403
    assert client.post("/projects/ai/delete/").status_code == 403


def test_the_owner_creates_renames_and_cannot_delete_a_project_with_services(client: Client, ai: Project) -> None:
    as_role(client, "owner", ai)
    made = client.post("/projects/", {"name": "Payments"})
    assert made.url == "/projects/payments/settings/"
    taken = client.post("/projects/", {"name": "Payments"})
    assert taken.status_code == 422 and 'id="name-error"' in taken.content.decode()
    assert client.post("/projects/payments/rename/", {"name": "Payments EU"}).status_code == 302
    assert Project.objects.get(slug="payments").name == "Payments EU"
    kept = client.post("/projects/ai/delete/", follow=True)
    assert "still has services" in kept.content.decode() and Project.objects.filter(slug="ai").exists()
    assert client.post("/projects/payments/delete/").url == "/projects/"


def test_the_owner_makes_a_team_and_grants_it_a_role(client: Client, ai: Project) -> None:
    as_role(client, "owner", ai)
    dana = User.objects.create_user("dana")
    assert client.post("/teams/", {"name": "ml on-call"}).status_code == 302
    team = Team.objects.get(name="ml on-call")
    assert client.post(f"/teams/{team.id}/members/", {"username": "dana"}).status_code == 302
    missing = client.post(f"/teams/{team.id}/members/", {"username": "nobody"})
    assert missing.status_code == 422 and f'id="team-{team.id}-username-error"' in missing.content.decode()
    assert client.post("/projects/ai/teams/", {"team": "ml on-call", "role": "responder"}).status_code == 302
    other = Client()
    other.force_login(dana)
    assert "llm" in other.get("/services/").content.decode()
    assert client.post(f"/teams/{team.id}/delete/").status_code == 302
    assert "llm" not in Client().get("/services/").content.decode()
    other.force_login(User.objects.get(pk=dana.pk))
    assert other.get("/services/").status_code == 403  # in no project now


def test_the_switcher_shows_only_for_people_in_several_projects(client: Client, ai: Project) -> None:
    viewer = as_role(client, "viewer", ai)
    assert 'id="project-switch"' not in client.get("/functions/").content.decode()
    join(viewer, "viewer")  # and the default project
    assert 'id="project-switch"' in client.get("/functions/").content.decode()


def test_the_settings_page_lists_the_projects_channels(client: Client, ai: Project) -> None:
    Channel.objects.all().delete()  # the default log channel a new install gets
    as_role(client, "admin", ai)
    empty = client.get("/projects/ai/settings/").content.decode()
    assert "Channels" in empty and "None yet: switch to this project and add one" in empty
    mine = Channel.objects.create(name="#llm-oncall", kind="log", config={}, project=ai)
    Channel.objects.create(name="#payments-oncall", kind="log", config={}, project=Project.objects.default())
    page = client.get("/projects/ai/settings/").content.decode()
    assert f'<a href="/channels/{mine.id}/">#llm-oncall</a>' in page
    assert "#payments-oncall" not in page
