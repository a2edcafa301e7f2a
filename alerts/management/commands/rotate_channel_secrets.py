from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from alerts.models import Channel
from alerts.secrets import SecretUnreadable


class Command(BaseCommand):
    help = (
        "Encrypt every channel's secrets again with the first key of MONITOR_SECRET_KEYS. "
        "Run it after putting a new key first; once it reports no failure, the old keys can be dropped."
    )

    def handle(self, **options: object) -> None:
        channels = list(Channel.objects.order_by("id"))
        unreadable = []
        total = 0
        for number, channel in enumerate(channels, start=1):
            try:
                count = channel.reencrypt()
            except SecretUnreadable:
                unreadable.append(channel)
                self.stdout.write(f"[{number}/{len(channels)}] {channel.name} (#{channel.id}): NOT READABLE")
                continue
            total += count
            self.stdout.write(f"[{number}/{len(channels)}] {channel.name} (#{channel.id}): {count} secret(s)")
        if unreadable:
            names = ", ".join(f"#{c.id}" for c in unreadable)
            raise CommandError(
                f"{len(unreadable)} channel(s) hold secrets no key in MONITOR_SECRET_KEYS decrypts ({names}): "
                "put back the key they were encrypted with, or enter those secrets again"
            )
        self.stdout.write(f"re-encrypted {total} secret(s) of {len(channels)} channel(s) with the first key")
