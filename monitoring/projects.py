"""Who may see what: projects, the role a person has in each, and the one scope check every
read and write uses.

A project owns services, and through them functions and queues. A person sees a project's
objects through a membership (a role in it), or through a team granted a role on it; the
highest of these counts. The installation's owner (a superuser) is admin in every project.
Another project's object is not found (404), never forbidden: its name does not leak.

- `role_in(user, project)`: "viewer", "responder", "admin" or None (no access).
- `scoped(queryset, user)`: only the rows of the projects the person may see.
- `get_visible_or_404(queryset, user, **lookup)`: one of them, or 404.
- `current_project(request)`: the project the person acts in (the switcher's choice).
- `narrow(user, project_id)`: from then on the person acts in that project only (a personal
  API token narrowed to it).
- Alerts, incidents and deliveries name their service instead of pointing at it: their
  project is the project of the service of that name (`SERVICE_NAME_PATHS`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import F, Model, Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from .models import Membership, Project, Service, TeamGrant

ROLES = ("viewer", "responder", "admin")
SESSION_KEY = "project"
User = AbstractBaseUser | AnonymousUser


def superuser(user: User | None) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_superuser)


def is_owner(user: User | None) -> bool:
    """The installation's owner: manages projects and people, admin in every project. Not
    through a token narrowed to one project (narrow): that acts as an admin of it only."""
    return superuser(user) and narrowed_to(user) is None


def narrow(user: User, project_id: int) -> None:
    """From now on (this request) the person acts in this project only, with their role there:
    a personal API token narrowed to it (monitoring/auth.py). Never more than their own rights:
    a person who is not in the project sees nothing at all."""
    user._narrowed_to = project_id
    forget_roles(user)


def narrowed_to(user: User | None) -> int | None:
    return getattr(user, "_narrowed_to", None)


def highest(*roles: str | None) -> str | None:
    given = [role for role in roles if role]
    return max(given, key=ROLES.index) if given else None


def project_roles(user: User | None) -> dict[int, str]:
    """{project id: role} for every project the person may see (an owner: all of them).

    Read once a request: kept on the user object, which Django makes anew for each request;
    a change of membership calls forget_roles for the user it changes.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return {}
    cached = getattr(user, "_project_roles", None)
    if cached is not None:
        return cached
    if superuser(user):
        roles = dict.fromkeys(Project.objects.values_list("id", flat=True), "admin")
    else:
        roles: dict[int, str] = {}
        direct = Membership.objects.filter(user=user).values_list("project_id", "role")
        granted = TeamGrant.objects.filter(team__members=user).values_list("project_id", "role")
        for project_id, role in chain(direct, granted):
            roles[project_id] = highest(roles.get(project_id), role)
    narrowed = narrowed_to(user)
    if narrowed is not None:
        roles = {narrowed: roles[narrowed]} if narrowed in roles else {}
    user._project_roles = roles
    return roles


def forget_roles(user: User | None) -> None:
    if user is not None:
        user.__dict__.pop("_project_roles", None)
        user.__dict__.pop("_projects_in_all", None)


def sees_every_project(user: User | None, at_least: str = "viewer") -> bool:
    """True when the person has at least that role in every project there is (in an
    installation with one project, everyone in it): scoping them would filter nothing out,
    so `scoped` leaves their queries as they are (a filter by project costs a subquery on
    every statement). The number of projects is read once a request, kept like the roles."""
    ids = project_ids(user, at_least)
    if not ids:
        return False
    total = getattr(user, "_projects_in_all", None)
    if total is None:
        total = user._projects_in_all = Project.objects.count()
    return len(ids) >= total


def sees_whole_fleet(user: User | None) -> bool:
    """The owner, or a person in every project: their figures are the whole fleet's."""
    return is_owner(user) or sees_every_project(user)


def project_id_of(project: Project | int | None) -> int | None:
    return project.id if isinstance(project, Project) else project


def role_in(user: User | None, project: Project | int | None) -> str | None:
    """The person's role in the project: owner -> admin; else the highest of the membership and
    the team grants; None: no access."""
    if is_owner(user):
        return "admin"
    if project is None:
        return None
    return project_roles(user).get(project_id_of(project))


def may(user: User | None, role: str, project: Project | int | None) -> bool:
    """True when the person has at least role in the project."""
    found = role_in(user, project)
    return found is not None and ROLES.index(found) >= ROLES.index(role)


def visible_projects(user: User | None) -> QuerySet[Project]:
    if is_owner(user):
        return Project.objects.all()
    return Project.objects.filter(id__in=list(project_roles(user)))


# From a model to its project, for the models scoped here; any other model with a service
# (functions, queues, ingest tokens, ...) reaches it through service.
PROJECT_PATHS: dict[type[Model], str] = {Project: "id", Service: "project"}


# Models that name their service instead of pointing at it (alerts and incidents keep the
# name they fired with): the lookups from the model to that name, the first one set counts.
# The floor above registers its models here (alerts/apps.py); this one does not know them.
SERVICE_NAME_PATHS: dict[type[Model], tuple[str, ...]] = {}


@dataclass(frozen=True)
class ProjectPart:
    """Something a floor above owns in a project, listed on the project's settings page."""

    title: str  # "Channels"
    rows: list[tuple[str, str]]  # (name, address of its page)
    page: str  # where new ones are made, in the project once switched to it


# Filled by the floors above (alerts/apps.py registers channels); this one does not know them.
PROJECT_PARTS: list[Callable[[Project], ProjectPart]] = []


def default_project_id() -> int | None:
    """The default project's id, without making it (None once the owner deleted it)."""
    return Project.objects.filter(slug="default").values_list("id", flat=True).first()


def project_ids(user: User | None, at_least: str = "viewer") -> list[int]:
    """The projects in which the person has at least that role."""
    return [pid for pid, role in project_roles(user).items() if ROLES.index(role) >= ROLES.index(at_least)]


def by_service_name(
    queryset: QuerySet, user: User | None, paths: tuple[str, ...], at_least: str = "viewer"
) -> QuerySet:
    """Rows that name a service (paths: the lookups to its name, the first one set counts):
    those of a service of the person's projects. A name no service has (the service was
    deleted or renamed since; a channel's test message names none) counts as the default
    project's, as a service made without a project goes there: a one-project installation
    shows it to everyone as before. One subquery in the filter, no per-row check."""
    if is_owner(user) or sees_every_project(user, at_least):
        return queryset
    ids = project_ids(user, at_least)
    name = Coalesce(*paths) if len(paths) > 1 else F(paths[0])
    queryset = queryset.alias(scope_service=name)
    visible = Q(scope_service__in=Service.objects.filter(project__in=ids).values("name"))
    default = default_project_id()
    if default is not None and default in ids:
        unknown = ~Q(scope_service__in=Service.objects.values("name"))
        visible |= Q(scope_service__isnull=True) | unknown
    return queryset.filter(visible)


def service_name_of(obj: Model) -> str | None:
    """The service name an alert, incident or delivery names (SERVICE_NAME_PATHS), or None."""
    for path in SERVICE_NAME_PATHS[type(obj)]:
        value: object = obj
        for part in path.split("__"):
            value = getattr(value, part, None)
            if value is None:
                break
        if value:
            return str(value)
    return None


def project_of_service_name(name: str | None) -> int | None:
    """The project of the service of that name; the default project's for a name no service
    has (as by_service_name counts it)."""
    found = Service.objects.filter(name=name).values_list("project_id", flat=True).first() if name else None
    return found if found is not None else default_project_id()


def project_names_by_service(names: set[str]) -> dict[str, str]:
    """{service name: its project's name} in one statement; a name no service has goes with
    the default project (as project_of_service_name counts it), or is left out without one."""
    found = dict(Service.objects.filter(name__in=names).values_list("name", "project__name"))
    unknown = names - found.keys()
    default = Project.objects.filter(slug="default").values_list("name", flat=True).first() if unknown else None
    return found | (dict.fromkeys(unknown, default) if default else {})


def path_of(model: type[Model]) -> str:
    """The lookup from a model to its project id: by PROJECT_PATHS; else its own `project` field
    (rules, channels, silences and the other objects of the alerts floor); else its service's."""
    if model in PROJECT_PATHS:
        return PROJECT_PATHS[model]
    if any(field.name == "project" for field in model._meta.get_fields()):
        return "project"
    return "service__project"


def scoped(queryset: QuerySet, user: User | None, path: str | None = None, at_least: str = "viewer") -> QuerySet:
    """Only the rows of the projects the person may see (all of them for an owner; none for
    an anonymous caller); at_least: of those where they have at least that role. path: the
    lookup from the queryset's model to its project id (default: `path_of`; by service
    name for SERVICE_NAME_PATHS)."""
    if is_owner(user) or sees_every_project(user, at_least):
        return queryset
    if path is None and queryset.model in SERVICE_NAME_PATHS:
        return by_service_name(queryset, user, SERVICE_NAME_PATHS[queryset.model], at_least)
    path = path or path_of(queryset.model)
    return queryset.filter(**{f"{path}__in": project_ids(user, at_least)})


def get_visible_or_404(queryset: QuerySet | type[Model], user: User | None, **lookup: object) -> Model:
    """One object of a project the person may see; another project's is not found (404)."""
    if not isinstance(queryset, QuerySet):
        queryset = queryset._default_manager.all()
    return get_object_or_404(scoped(queryset, user), **lookup)


def project_of(obj: Model) -> int | None:
    """The id of the project an object belongs to: a project's own, a service's or any object's
    with a `project` of its own (rules, channels, ...), the one of the service an alert,
    incident or delivery names, or (for functions, queues, tokens and
    the like) its service's."""
    if isinstance(obj, Project):
        return obj.id
    if isinstance(obj, Service) or hasattr(obj, "project_id"):
        return obj.project_id
    if type(obj) in SERVICE_NAME_PATHS:
        return project_of_service_name(service_name_of(obj))
    return obj.service.project_id


def people_in(project: Project | int) -> QuerySet:
    """The people with a role in the project: its members, the members of the teams granted a
    role on it, and the owners (who may be named wherever a person is picked in it)."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    project_id = project_id_of(project)
    found = Q(is_superuser=True) | Q(memberships__project_id=project_id) | Q(teams__grants__project_id=project_id)
    return get_user_model().objects.filter(found, is_active=True).distinct()


def people_seen_by(user: User | None, at_least: str = "viewer") -> QuerySet:
    """The active people with a role in a project where this person has at least that role
    (through a membership or a team, or as an owner, as `people_in` counts them), and the
    person themselves; every active person for an owner. Whose notification address an
    admin may see and set, for one."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    people = get_user_model().objects.filter(is_active=True)
    if is_owner(user):
        return people
    ids = project_ids(user, at_least)
    found = Q(memberships__project_id__in=ids) | Q(teams__grants__project_id__in=ids)
    if ids:
        found |= Q(is_superuser=True)
    if user is not None and user.is_authenticated:
        found |= Q(pk=user.pk)
    return people.filter(found).distinct()


def scope_key(user: User | None) -> str:
    """Who may share an answer: the same key means the same rows (monitoring/shared.py)."""
    if is_owner(user):
        return "all"
    return ",".join(str(i) for i in sorted(project_roles(user)))


def home(user: User | None) -> Project | None:
    """The person's first project (by name); an owner's is the default one when none exist."""
    if is_owner(user) and not Project.objects.exists():
        return Project.objects.default()
    return visible_projects(user).order_by("name", "id").first()


def current_project(request: HttpRequest) -> Project | None:
    """The project the person acts in: the switcher's choice (kept in the session) while they
    may still see it, else their first project; None for someone in no project."""
    if hasattr(request, "_current_project"):
        return request._current_project
    user = getattr(request, "user", None)
    chosen = None
    session = getattr(request, "session", None)
    if session is not None and session.get(SESSION_KEY) is not None:
        chosen = visible_projects(user).filter(id=session[SESSION_KEY]).first()
    request._current_project = chosen or home(user)
    return request._current_project


def choose(request: HttpRequest, slug: str) -> Project:
    """Make a project the current one (404 for one the person may not see)."""
    project = get_visible_or_404(Project, request.user, slug=slug)
    request.session[SESSION_KEY] = project.id
    request._current_project = project
    return project
