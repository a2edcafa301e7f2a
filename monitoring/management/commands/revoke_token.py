from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitoring import service_changes
from monitoring.models import IngestToken, UserToken


class Command(BaseCommand):
    help = "Revoke the ingest or personal token whose visible prefix is PREFIX (the first 12 characters)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix")

    def handle(self, prefix: str, **options: object) -> None:
        prefix = prefix[:12]
        for model in (IngestToken, UserToken):
            token = model.objects.filter(prefix=prefix).first()
            if token is None:
                continue
            if token.revoked:
                self.stdout.write(f"{prefix} was already revoked on {token.revoked:%Y-%m-%d %H:%M} UTC")
            elif isinstance(token, IngestToken):
                service_changes.revoke_token(None, token)  # recorded in the audit trail
                self.stdout.write(f"revoked {prefix}")
            else:
                token.revoke()
                self.stdout.write(f"revoked {prefix}")
            return
        raise CommandError(f"no token starts with {prefix!r}")
