"""What the project pages and the project API show: projects with the asker's role, a
project's members, teams and services, and the teams."""

from __future__ import annotations

from django.db.models import Count

from .models import Project, Team
from .projects import User, role_in, visible_projects


def project_rows(user: User | None) -> list[dict]:
    """The projects the person may see, with their role in each and how many services each holds."""
    found = visible_projects(user).annotate(service_count=Count("services")).order_by("name")
    return [
        {
            "id": p.id,
            "name": p.name,
            "slug": p.slug,
            "role": role_in(user, p),
            "services": p.service_count,
            "created": p.created,
        }
        for p in found
    ]


def project_detail(project: Project, user: User | None) -> dict:
    members = project.memberships.select_related("user").order_by("user__username")
    grants = project.grants.select_related("team").order_by("team__name")
    return {
        "id": project.id,
        "name": project.name,
        "slug": project.slug,
        "role": role_in(user, project),
        "created": project.created,
        "members": [{"username": m.user.get_username(), "role": m.role, "active": m.user.is_active} for m in members],
        "teams": [{"id": g.team_id, "name": g.team.name, "role": g.role} for g in grants],
        "services": [{"id": s.id, "name": s.name} for s in project.services.order_by("name")],
    }


def team_rows(teams: list[Team] | None = None) -> list[dict]:
    """Teams with their members and the projects they are granted a role on."""
    found = teams if teams is not None else Team.objects.prefetch_related("members", "grants__project").order_by("name")
    return [
        {
            "id": t.id,
            "name": t.name,
            "members": sorted(u.get_username() for u in t.members.all()),
            "projects": [{"slug": g.project.slug, "name": g.project.name, "role": g.role} for g in t.grants.all()],
        }
        for t in found
    ]
