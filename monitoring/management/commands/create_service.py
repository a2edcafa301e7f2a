from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitoring import service_changes
from monitoring.errors import InputError
from monitoring.forms import parse
from monitoring.models import Service
from monitoring.services import ServiceIn


class Command(BaseCommand):
    help = "Create a service (or reuse it) and print a new ingest token for it on stdout, nothing else."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")

    def handle(self, name: str, **options: object) -> None:
        # The name is checked as the API and the services page check it.
        given, problems = parse(ServiceIn, {"name": name})
        if given is None:
            raise CommandError(f"NAME {problems['name']} (1 to 100 printable characters)")
        try:
            service = Service.objects.filter(name=given.name).first() or service_changes.create_service(
                None, given.name
            )
        except InputError as error:  # created by someone else at the same moment
            raise CommandError(f"NAME: {error.message}") from None
        _, raw = service_changes.create_token(None, service)
        self.stdout.write(raw)
