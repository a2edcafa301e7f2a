from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from resilience_site.demo import SERVICE_NAMES, Demo


class Command(BaseCommand):
    help = (
        "Run the demo reporter against any install. One ingest token belongs to one service, "
        "so this runs that service's part of the demo: --service names which (payments, "
        "ai-gateway or notifications; notifications also reports email_queue)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", required=True, help="the monitor's base URL, e.g. https://monitor.example.org")
        parser.add_argument("--token", required=True, help="an ingest token (manage.py create_service NAME)")
        parser.add_argument("--service", default="payments", choices=SERVICE_NAMES)
        parser.add_argument(
            "--seconds", type=float, default=None, help="stop after this long (default: run until Ctrl-C)"
        )
        parser.add_argument("--rate", type=float, default=1.0, help="multiply the calls per second")

    def handle(self, url: str, token: str, service: str, seconds: float | None, rate: float, **options: object) -> None:
        if rate <= 0:
            raise CommandError("--rate must be more than 0")
        demo = Demo(url, {service: token}, rate=rate)
        self.stdout.write(f"Demo reporter: {service} -> {url}  (Ctrl-C stops it)")
        try:
            demo.run(seconds)
        except KeyboardInterrupt:
            pass
        stats = demo.close()
        self.stdout.write("sent {sent}, dropped {dropped}, retried {retried}, failed batches {failed}".format(**stats))
