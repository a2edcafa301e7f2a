"""The project pages: the switcher's choice, the list of projects (the owner creates and
deletes them), a project's settings (its members, the teams granted a role on it, its
services: for its admins and the owner) and the owner's teams. Thin: every change is an action
in project_changes.py, the one the API calls too."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from . import audit, projects
from . import project_changes as changes
from .auth import page_for, require_role
from .errors import InputError
from .forms import field_errors, form_values, parse
from .models import Membership, Project, ProjectRole, Team, TeamGrant
from .project_changes import GrantIn, MemberIn, ProjectIn, ProjectPatch, TeamIn, TeamMemberIn
from .project_read import project_detail, project_rows, team_rows
from .views import page

ROLE_CHOICES = [(role.value, role.label) for role in ProjectRole]


@require_POST
@login_required
def switch(request: HttpRequest) -> HttpResponse:
    """Make the chosen project the current one and go back where the switcher was."""
    project = projects.choose(request, request.POST.get("project", ""))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, require_https=request.is_secure()):
        back = "/"
    messages.success(request, f"You are in “{project.name}” now.")
    return redirect(back)


def form_page(request: HttpRequest, template: str, errors: dict | None, **context: object) -> HttpResponse:
    """A page with forms: 422 when one came back with errors ({form: {field: message}})."""
    response = page(request, template, "projects", errors=errors or {}, **context)
    if errors:
        response.status_code = 422
    return response


def failed(form: str, problems: dict[str, str]) -> dict[str, dict[str, str]]:
    """A form's errors by field, under the form's name (a page has several forms)."""
    return {form: {field or "form": message for field, message in problems.items()}}


def attempt(form: str, schema: type, values: dict, act: Callable[[object], None]) -> dict[str, dict[str, str]]:
    """Parse values with the API's schema and act on them; the errors by form field ({} when done)."""
    given, problems = parse(schema, values)
    if given is None:
        return failed(form, problems)
    try:
        act(given)
    except InputError as error:
        return failed(form, field_errors(error))
    return {}


def stored(text: str) -> str:
    """Text from a URL as the database can look it up: a NUL is in no name (404, not an error)."""
    if "\x00" in text:
        raise Http404("no such name")
    return text


# The list of projects


@login_required
def project_list(request: HttpRequest) -> HttpResponse:
    """Everyone sees their projects; the owner creates one with the form."""
    if request.method != "POST":
        return list_page(request)
    require_role(request, "owner")
    values = form_values(request.POST)
    made: list[Project] = []
    errors = attempt(
        "create",
        ProjectIn,
        values,
        lambda given: made.append(changes.create_project(request.user, given.name, given.slug)),
    )
    if errors:
        return list_page(request, errors, {"create": values})
    messages.success(request, f"Project “{made[0].name}” created. Add its members.")
    return redirect("project-settings", made[0].slug)


def list_page(request: HttpRequest, errors: dict | None = None, values: dict | None = None) -> HttpResponse:
    return form_page(
        request, "monitoring/projects.html", errors, projects=project_rows(request.user), values=values or {}
    )


# A project's settings


def project_for(request: HttpRequest, slug: str, role: str = "admin") -> Project:
    """A project the person may see (404 otherwise) where they have at least role (403 otherwise)."""
    project = projects.get_visible_or_404(Project, request.user, slug=slug)
    require_role(request, role, project)
    return project


@login_required
def project_settings(request: HttpRequest, slug: str) -> HttpResponse:
    return settings_page(request, project_for(request, slug))


def settings_page(
    request: HttpRequest, project: Project, errors: dict | None = None, values: dict | None = None
) -> HttpResponse:
    teams = Team.objects.exclude(grants__project=project).order_by("name").values_list("name", flat=True)
    return form_page(
        request,
        "monitoring/project_settings.html",
        errors,
        project=project_detail(project, request.user),
        roles=ROLE_CHOICES,
        teams=list(teams),
        values=values or {},
        history=audit.history("project", project.id).order_by("-at", "-id")[:50],
        owner=projects.is_owner(request.user),
        parts=[part(project) for part in projects.PROJECT_PARTS],
    )


def settings_change(request: HttpRequest, slug: str, form: str, schema: type, act: Callable, done: str) -> HttpResponse:
    """One form of the settings page: parse, act, and back to the page (with errors: 422)."""
    project = project_for(request, slug)
    values = form_values(request.POST)
    errors = attempt(form, schema, values, lambda given: act(project, given))
    if errors:
        return settings_page(request, project, errors, {form: values})
    messages.success(request, done.format(project=project.name, **values))
    return redirect("project-settings", project.slug)


@require_POST
@login_required
def rename(request: HttpRequest, slug: str) -> HttpResponse:
    require_role(request, "owner")
    return settings_change(
        request,
        slug,
        "rename",
        ProjectPatch,
        lambda project, given: changes.rename_project(request.user, project, given.name),
        "Renamed to “{name}”.",
    )


@require_POST
@login_required
def delete(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_for(request, slug)
    require_role(request, "owner")
    try:
        changes.delete_project(request.user, project)
    except InputError as error:
        messages.error(request, f"“{project.name}” was not deleted: {error.message}.")
        return redirect("project-settings", project.slug)
    messages.success(request, f"Project “{project.name}” deleted.")
    return redirect("projects")


@require_POST
@login_required
def member(request: HttpRequest, slug: str) -> HttpResponse:
    """Add a person with a role, or change the role of one already in."""

    def act(project: Project, given: MemberIn) -> None:
        changes.set_member(request.user, project, changes.person_named(given.username), given.role)

    return settings_change(request, slug, "member", MemberIn, act, "{username} is a {role} in “{project}”.")


@require_POST
@login_required
def remove_member(request: HttpRequest, slug: str, username: str) -> HttpResponse:
    project = project_for(request, slug)
    membership = get_object_or_404(
        Membership.objects.select_related("user"), project=project, user__username=stored(username)
    )
    changes.remove_member(request.user, membership)
    messages.success(request, f"{username} is no longer in “{project.name}”.")
    return redirect("project-settings", project.slug)


@require_POST
@login_required
def team_grant(request: HttpRequest, slug: str) -> HttpResponse:
    def act(project: Project, given: GrantIn) -> None:
        changes.grant(request.user, project, changes.team_named(given.team), given.role)

    return settings_change(request, slug, "grant", GrantIn, act, "Team {team} has the {role} role in “{project}”.")


@require_POST
@login_required
def remove_grant(request: HttpRequest, slug: str, team_id: int) -> HttpResponse:
    project = project_for(request, slug)
    found = get_object_or_404(TeamGrant.objects.select_related("team", "project"), project=project, team_id=team_id)
    changes.revoke_grant(request.user, found)
    messages.success(request, f"Team {found.team.name} no longer has a role in “{project.name}”.")
    return redirect("project-settings", project.slug)


# Teams (the owner)


@page_for("owner")
def team_list(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return teams_page(request)
    values = form_values(request.POST)
    errors = attempt("team", TeamIn, values, lambda given: changes.create_team(request.user, given.name))
    if errors:
        return teams_page(request, errors, {"team": values})
    messages.success(request, f"Team {values['name']} created. Add its members.")
    return redirect("teams")


def teams_page(request: HttpRequest, errors: dict | None = None, values: dict | None = None) -> HttpResponse:
    rows = team_rows()
    for row in rows:  # each team's add-a-person form shows its own error
        row["error"] = (errors or {}).get(f"team{row['id']}", {}).get("username")
    return form_page(request, "monitoring/teams.html", errors, teams=rows, values=values or {})


@require_POST
@page_for("owner")
def team_member(request: HttpRequest, team_id: int) -> HttpResponse:
    team = get_object_or_404(Team, id=team_id)
    values = form_values(request.POST)

    def act(given: TeamMemberIn) -> None:
        changes.add_to_team(request.user, team, changes.person_named(given.username))

    errors = attempt(f"team{team.id}", TeamMemberIn, values, act)
    if errors:
        return teams_page(request, errors, {f"team{team.id}": values})
    messages.success(request, f"{values['username']} is in team {team.name}.")
    return redirect("teams")


@require_POST
@page_for("owner")
def remove_team_member(request: HttpRequest, team_id: int, username: str) -> HttpResponse:
    team = get_object_or_404(Team, id=team_id)
    changes.remove_from_team(request.user, team, get_object_or_404(team.members.all(), username=stored(username)))
    messages.success(request, f"{username} is no longer in team {team.name}.")
    return redirect("teams")


@require_POST
@page_for("owner")
def delete_team(request: HttpRequest, team_id: int) -> HttpResponse:
    team = get_object_or_404(Team, id=team_id)
    changes.delete_team(request.user, team)
    messages.success(request, f"Team {team.name} deleted.")
    return redirect("teams")
