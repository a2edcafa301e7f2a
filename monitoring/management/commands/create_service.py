from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitoring.models import IngestToken, Service


class Command(BaseCommand):
    help = "Create a service (or reuse it) and print a new ingest token for it on stdout, nothing else."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")

    def handle(self, name: str, **options: object) -> None:
        name = name.strip()
        if not name or len(name) > 100 or not name.isprintable():
            raise CommandError("NAME must be 1 to 100 printable characters")
        service, _ = Service.objects.get_or_create(name=name)
        _, raw = IngestToken.issue(service=service)
        self.stdout.write(raw)
