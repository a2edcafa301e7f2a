from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitoring.models import UserToken


class Command(BaseCommand):
    help = "Print a new personal API token for USERNAME on stdout, nothing else."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, username: str, **options: object) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        _, raw = UserToken.issue(user=user)
        self.stdout.write(raw)
