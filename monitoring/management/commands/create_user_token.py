from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitoring import people
from monitoring.errors import InputError
from monitoring.forms import parse


class Command(BaseCommand):
    help = "Print a new personal API token for USERNAME on stdout, nothing else (also on the page /settings/tokens/)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="what the token is for, shown on the tokens page")
        parser.add_argument(
            "--scope", default="api", help="api (the API with the person's role) or metrics:read (GET /metrics only)"
        )
        parser.add_argument("--project", default="", help="a project's slug: the token acts in that project only")
        parser.add_argument("--read-only", action="store_true", help="the token reads only: any write answers 403")

    def handle(self, username: str, name: str, scope: str, project: str, read_only: bool, **options: object) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        values = {"name": name, "scope": scope, "project": project, "read_only": read_only}
        payload, errors = parse(people.TokenIn, values)
        if payload is None:
            field, message = next(iter(errors.items()))
            raise CommandError(f"--{field.replace('_', '-')} {message}")
        try:
            _, raw = people.issue_token(None, user, payload)
        except InputError as error:
            raise CommandError(f"--{error.field.replace('_', '-')} {error.message}") from None
        self.stdout.write(raw)
