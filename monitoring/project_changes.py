"""Every change to projects, memberships and teams, called alike by the API (project_api.py)
and the pages (project_pages.py): each validates, writes, and records its audit entry in
one transaction. Who may make it (the owner, or an admin of the project) is the caller's
check; these only keep the data sound."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils.text import slugify
from pydantic import Field

from . import audit
from .errors import InputError
from .inputs import Body, Name
from .models import Membership, Project, ProjectRole, Team, TeamGrant
from .projects import forget_roles

Actor = AbstractBaseUser | AnonymousUser | None
User = get_user_model()
PROJECT_FIELDS = ("name", "slug")
ROLE_HELP = "viewer, responder or admin"


class ProjectIn(Body):
    name: Name = Field(max_length=100)
    slug: str = Field(
        "", max_length=50, pattern=r"^[a-z0-9-]*$", description="its address, e.g. payments; default: from the name"
    )


class ProjectPatch(Body):
    name: Name = Field(max_length=100)


class MemberIn(Body):
    username: Name = Field(max_length=150)
    role: ProjectRole = Field(ProjectRole.VIEWER, description=ROLE_HELP)


class RoleIn(Body):
    role: ProjectRole = Field(description=ROLE_HELP)


class GrantIn(Body):
    team: Name = Field(max_length=100, description="the team's name")
    role: ProjectRole = Field(ProjectRole.VIEWER, description=ROLE_HELP)


class TeamIn(Body):
    name: Name = Field(max_length=100)


class TeamMemberIn(Body):
    username: Name = Field(max_length=150)


# Projects (the owner)


def create_project(actor: Actor, name: str, slug: str = "") -> Project:
    slug = slug or slugify(name)[:50]
    if not slug:
        raise InputError("slug", "give one: letters, digits and hyphens")
    if Project.objects.filter(name=name).exists():
        raise InputError("name", f"a project named “{name}” exists already")
    if Project.objects.filter(slug=slug).exists():
        raise InputError("slug", f"“{slug}” is taken")
    try:
        with transaction.atomic():
            project = Project.objects.create(name=name, slug=slug)
            audit.record(actor, audit.CREATED, project, after=audit.snapshot(project, PROJECT_FIELDS))
    except IntegrityError:  # made by someone else since the checks
        raise InputError("name", f"a project named “{name}” exists already") from None
    return project


def rename_project(actor: Actor, project: Project, name: str) -> Project:
    if Project.objects.filter(name=name).exclude(id=project.id).exists():
        raise InputError("name", f"a project named “{name}” exists already")
    before = audit.snapshot(project, PROJECT_FIELDS)
    with transaction.atomic():
        project.name = name
        project.save(update_fields=["name"])
        audit.record(actor, "renamed", project, before=before, after=audit.snapshot(project, PROJECT_FIELDS))
    return project


def delete_project(actor: Actor, project: Project) -> None:
    """Only an empty project goes: its services would have nowhere to be."""
    if project.slug == "default":
        raise InputError("", "the default project stays: new services go there")
    with transaction.atomic():
        if project.services.exists():
            raise InputError("", f"“{project.name}” still has services: delete or move them first")
        audit.record(actor, audit.DELETED, project, before=audit.snapshot(project, PROJECT_FIELDS))
        try:
            project.delete()
        except ProtectedError as error:
            # Rules, channels, silences, SLOs, policies or status pages of its own (alerts floor).
            kinds = sorted({str(row._meta.verbose_name_plural) for row in error.protected_objects})
            raise InputError("", f"“{project.name}” still has {', '.join(kinds)}: delete them first") from None


# Members and team grants (the project's admins and the owner)


def person_named(username: str) -> AbstractBaseUser:
    found = User.objects.filter(username=username, is_active=True).first()
    if found is None:
        raise InputError("username", f"nobody active is called “{username}”")
    return found


def team_named(name: str) -> Team:
    found = Team.objects.filter(name=name).first()
    if found is None:
        raise InputError("team", f"no team is called “{name}”")
    return found


def set_member(actor: Actor, project: Project, user: AbstractBaseUser, role: str) -> Membership:
    """Add the person to the project with role, or change their role there."""
    with transaction.atomic():
        membership, made = Membership.objects.select_for_update().get_or_create(
            user=user, project=project, defaults={"role": role}
        )
        label = f"{user.get_username()} in {project.name}"
        if made:
            audit.record(
                actor, "member added", project, label=label, after={"member": user.get_username(), "role": role}
            )
        elif membership.role != role:
            before = {"member": user.get_username(), "role": membership.role}
            membership.role = role
            membership.save(update_fields=["role"])
            audit.record(actor, "role changed", project, label=label, before=before, after={**before, "role": role})
    forget_roles(user)
    return membership


def remove_member(actor: Actor, membership: Membership) -> None:
    user, project = membership.user, membership.project
    with transaction.atomic():
        before = {"member": user.get_username(), "role": membership.role}
        audit.record(actor, "member removed", project, label=f"{user.get_username()} in {project.name}", before=before)
        membership.delete()
    forget_roles(user)


def grant(actor: Actor, project: Project, team: Team, role: str) -> TeamGrant:
    """Give a team a role on the project (or change it)."""
    with transaction.atomic():
        found, made = TeamGrant.objects.select_for_update().get_or_create(
            team=team, project=project, defaults={"role": role}
        )
        label = f"team {team.name} on {project.name}"
        if made:
            audit.record(actor, "team granted", project, label=label, after={"team": team.name, "role": role})
        elif found.role != role:
            before = {"team": team.name, "role": found.role}
            found.role = role
            found.save(update_fields=["role"])
            audit.record(actor, "role changed", project, label=label, before=before, after={**before, "role": role})
    return found


def revoke_grant(actor: Actor, found: TeamGrant) -> None:
    with transaction.atomic():
        before = {"team": found.team.name, "role": found.role}
        label = f"team {found.team.name} on {found.project.name}"
        audit.record(actor, "team removed", found.project, label=label, before=before)
        found.delete()


# Teams (the owner)


def create_team(actor: Actor, name: str) -> Team:
    if Team.objects.filter(name=name).exists():
        raise InputError("name", f"a team named “{name}” exists already")
    try:
        with transaction.atomic():
            team = Team.objects.create(name=name)
            audit.record(actor, audit.CREATED, team, after={"name": name})
    except IntegrityError:
        raise InputError("name", f"a team named “{name}” exists already") from None
    return team


def delete_team(actor: Actor, team: Team) -> None:
    """The team goes with its grants; its people keep their own memberships."""
    with transaction.atomic():
        before = {"name": team.name, "members": sorted(team.members.values_list("username", flat=True))}
        audit.record(actor, audit.DELETED, team, before=before)
        team.delete()


def add_to_team(actor: Actor, team: Team, user: AbstractBaseUser) -> None:
    with transaction.atomic():
        if team.members.filter(pk=user.pk).exists():
            return
        team.members.add(user)
        audit.record(actor, "member added", team, after={"member": user.get_username()})
    forget_roles(user)


def remove_from_team(actor: Actor, team: Team, user: AbstractBaseUser) -> None:
    with transaction.atomic():
        if not team.members.filter(pk=user.pk).exists():
            return
        audit.record(actor, "member removed", team, before={"member": user.get_username()})
        team.members.remove(user)
    forget_roles(user)
