"""Projects and teams in the API. Members of a project read it; its admins (and the owner)
change its members and teams; the owner creates, renames and deletes projects and teams.
Another project's address answers 404, as for anyone outside it."""

# No `from __future__ import annotations`: ninja reads the annotations at import.

from datetime import datetime

from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from . import project_changes as changes
from .auth import require_role, user_auth
from .inputs import Text
from .models import Membership, Project, Team, TeamGrant
from .project_changes import GrantIn, MemberIn, ProjectIn, ProjectPatch, RoleIn, TeamIn, TeamMemberIn
from .project_read import project_detail, project_rows, team_rows
from .projects import get_visible_or_404, is_owner
from .schemas import errors

router = Router(tags=["projects"])


class ProjectOut(Schema):
    id: int
    name: str
    slug: Text
    role: str = Field(description="your role in it: viewer, responder or admin (the owner is admin everywhere)")
    services: int
    created: datetime


class MemberOut(Schema):
    username: Text
    role: str
    active: bool


class GrantOut(Schema):
    id: int = Field(description="the team's id")
    name: str
    role: str


class NamedService(Schema):
    id: int
    name: str


class ProjectDetail(Schema):
    id: int
    name: str
    slug: Text
    role: str
    created: datetime
    members: list[MemberOut]
    teams: list[GrantOut]
    services: list[NamedService]


class TeamProject(Schema):
    slug: Text
    name: str
    role: str


class TeamOut(Schema):
    id: int
    name: str
    members: list[str]
    projects: list[TeamProject]


def project_for(request: HttpRequest, slug: Text, role: str = "viewer") -> Project:
    """A project the caller may see (404 otherwise) where they have at least role (403 otherwise)."""
    project = get_visible_or_404(Project, request.user, slug=slug)
    require_role(request, role, project)
    return project


@router.get("/projects", auth=user_auth, response={200: list[ProjectOut], **errors(401, 503)})
def list_projects(request: HttpRequest) -> list[dict]:
    """The projects you may see, with your role in each."""
    return project_rows(request.user)


@router.post("/projects", auth=user_auth, response={201: ProjectDetail, **errors(400, 401, 403, 422, 503)})
def create_project(request: HttpRequest, payload: ProjectIn) -> Status:
    """A new, empty project (the owner)."""
    require_role(request, "owner")
    project = changes.create_project(request.user, payload.name, payload.slug)
    return Status(201, project_detail(project, request.user))


@router.get("/projects/{slug}", auth=user_auth, response={200: ProjectDetail, **errors(401, 404, 422, 503)})
def get_project(request: HttpRequest, slug: Text) -> dict:
    """A project with its members, the teams granted a role on it, and its services (its members)."""
    return project_detail(project_for(request, slug), request.user)


@router.patch("/projects/{slug}", auth=user_auth, response={200: ProjectDetail, **errors(400, 401, 403, 404, 422, 503)})
def rename_project(request: HttpRequest, slug: Text, payload: ProjectPatch) -> dict:
    """Rename a project (the owner); its address (slug) stays."""
    project = project_for(request, slug)
    require_role(request, "owner")
    return project_detail(changes.rename_project(request.user, project, payload.name), request.user)


@router.delete("/projects/{slug}", auth=user_auth, response={204: None, **errors(401, 403, 404, 422, 503)})
def delete_project(request: HttpRequest, slug: Text) -> Status:
    """Delete an empty project (the owner); one with services is refused (422)."""
    project = project_for(request, slug)
    require_role(request, "owner")
    changes.delete_project(request.user, project)
    return Status(204, None)


@router.post(
    "/projects/{slug}/members", auth=user_auth, response={200: ProjectDetail, **errors(400, 401, 403, 404, 422, 503)}
)
def add_member(request: HttpRequest, slug: Text, payload: MemberIn) -> dict:
    """Add a person with a role, or change their role (the project's admins)."""
    project = project_for(request, slug, "admin")
    changes.set_member(request.user, project, changes.person_named(payload.username), payload.role)
    return project_detail(project, request.user)


@router.patch(
    "/projects/{slug}/members/{username}",
    auth=user_auth,
    response={200: ProjectDetail, **errors(400, 401, 403, 404, 422, 503)},
)
def change_member(request: HttpRequest, slug: Text, username: Text, payload: RoleIn) -> dict:
    """Change a member's role (the project's admins)."""
    project = project_for(request, slug, "admin")
    membership = get_object_or_404(Membership.objects.select_related("user"), project=project, user__username=username)
    changes.set_member(request.user, project, membership.user, payload.role)
    return project_detail(project, request.user)


@router.delete(
    "/projects/{slug}/members/{username}", auth=user_auth, response={204: None, **errors(401, 403, 404, 422, 503)}
)
def remove_member(request: HttpRequest, slug: Text, username: Text) -> Status:
    """Take a person out of the project (the project's admins)."""
    project = project_for(request, slug, "admin")
    membership = get_object_or_404(Membership.objects.select_related("user"), project=project, user__username=username)
    changes.remove_member(request.user, membership)
    return Status(204, None)


@router.post(
    "/projects/{slug}/teams", auth=user_auth, response={200: ProjectDetail, **errors(400, 401, 403, 404, 422, 503)}
)
def grant_team(request: HttpRequest, slug: Text, payload: GrantIn) -> dict:
    """Give a team a role on the project, or change it (the project's admins)."""
    project = project_for(request, slug, "admin")
    changes.grant(request.user, project, changes.team_named(payload.team), payload.role)
    return project_detail(project, request.user)


@router.delete(
    "/projects/{slug}/teams/{team_id}", auth=user_auth, response={204: None, **errors(401, 403, 404, 422, 503)}
)
def revoke_team(request: HttpRequest, slug: Text, team_id: int) -> Status:
    """Take a team's role on the project away (the project's admins)."""
    project = project_for(request, slug, "admin")
    changes.revoke_grant(
        request.user, get_object_or_404(TeamGrant.objects.select_related("team"), project=project, team_id=team_id)
    )
    return Status(204, None)


@router.get("/teams", auth=user_auth, response={200: list[TeamOut], **errors(401, 503)})
def list_teams(request: HttpRequest) -> list[dict]:
    """Every team (the owner); anyone else, the teams they are in."""
    teams = Team.objects.prefetch_related("members", "grants__project").order_by("name")
    if not is_owner(request.user):
        teams = teams.filter(members=request.user)
    return team_rows(list(teams))


@router.post("/teams", auth=user_auth, response={201: TeamOut, **errors(400, 401, 403, 422, 503)})
def create_team(request: HttpRequest, payload: TeamIn) -> Status:
    """A new team with nobody in it yet (the owner)."""
    require_role(request, "owner")
    team = changes.create_team(request.user, payload.name)
    return Status(201, team_rows([team])[0])


def team_for(request: HttpRequest, team_id: int) -> Team:
    """A team, for the owner: anyone else gets 404 (team names do not leak either)."""
    if not is_owner(request.user):
        raise Http404("no such team")
    return get_object_or_404(Team, id=team_id)


@router.delete("/teams/{team_id}", auth=user_auth, response={204: None, **errors(401, 403, 404, 422, 503)})
def delete_team(request: HttpRequest, team_id: int) -> Status:
    """Delete a team and its grants (the owner); its people keep their own memberships."""
    changes.delete_team(request.user, team_for(request, team_id))
    return Status(204, None)


@router.post(
    "/teams/{team_id}/members", auth=user_auth, response={200: TeamOut, **errors(400, 401, 403, 404, 422, 503)}
)
def add_team_member(request: HttpRequest, team_id: int, payload: TeamMemberIn) -> dict:
    """Put a person in the team (the owner)."""
    team = team_for(request, team_id)
    changes.add_to_team(request.user, team, changes.person_named(payload.username))
    return team_rows([team])[0]


@router.delete(
    "/teams/{team_id}/members/{username}", auth=user_auth, response={204: None, **errors(401, 403, 404, 422, 503)}
)
def remove_team_member(request: HttpRequest, team_id: int, username: Text) -> Status:
    """Take a person out of the team (the owner)."""
    team = team_for(request, team_id)
    changes.remove_from_team(request.user, team, get_object_or_404(team.members.all(), username=username))
    return Status(204, None)
