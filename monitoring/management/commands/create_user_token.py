from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitoring import people
from monitoring.forms import parse


class Command(BaseCommand):
    help = "Print a new personal API token for USERNAME on stdout, nothing else (also on the page /settings/tokens/)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="what the token is for, shown on the tokens page")
        parser.add_argument(
            "--scope", default="api", help="api (the API with the person's role) or metrics:read (GET /metrics only)"
        )

    def handle(self, username: str, name: str, scope: str, **options: object) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        payload, errors = parse(people.TokenIn, {"name": name, "scope": scope})
        if payload is None:
            field, message = next(iter(errors.items()))
            raise CommandError(f"--{field} {message}")
        _, raw = people.issue_token(None, user, payload)
        self.stdout.write(raw)
