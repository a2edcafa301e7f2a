from __future__ import annotations

import contextlib
import errno
import logging
import socket

import uvicorn
from django.conf import settings
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitoring import writers
from resilience_site import scheduler
from resilience_site.asgi import application
from resilience_site.loaded import freeze_loaded

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Start the embedded stack: one ASGI server for HTTP and websockets, and the periodic jobs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument("--no-scheduler", action="store_true", help="leave periodic jobs to Celery beat")
        parser.add_argument("--no-demo", action="store_true", help="do not run the demo reporter (as DEMO=0)")
        parser.add_argument(
            "--no-group-commit",
            action="store_true",
            help="write each batch in its request's own transaction (to compare; see docs/ingest.md)",
        )

    def handle(
        self, host: str, port: int, no_scheduler: bool, no_demo: bool, no_group_commit: bool, **options: object
    ) -> None:
        # The port first: when it is taken, nothing may have started or been announced.
        listening = listen(host, port)
        if not no_group_commit:
            # Before anything can send a batch (the demo included): one thread writes them all.
            writers.start_group_commit()
        if not no_scheduler:
            scheduler.start()
        if settings.DEMO and not no_demo:
            self.start_demo(host, port)
        self.stdout.write(f"Resilience Monitor on http://{host}:{port}/  (Ctrl-C stops it)")
        config = uvicorn.Config(
            ASGIStaticFilesHandler(application), host=host, port=port, log_level="warning", lifespan="off"
        )
        freeze_loaded()
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how it stops, not an error
            uvicorn.Server(config).run(sockets=[listening])
        writers.stop_group_commit()  # what is queued is committed before the process ends

    def start_demo(self, host: str, port: int) -> None:
        try:
            # The demo needs resilience_client, which a production install may leave out.
            from resilience_site import demo
        except ImportError as error:  # resilience_client is installed by `make install`
            self.stderr.write(f"Demo reporter not started: {error}. Install it: pip install -e ./client")
            return
        tokens = demo.embedded_tokens(str(settings.VAR_DIR / "demo_tokens.json"))
        demo.start_embedded(host, port, tokens)
        self.stdout.write(
            "Demo reporter running: payments, ai-gateway and notifications report here"
            " (DEMO=0 or --no-demo turns it off)"
        )


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on host:port, handed to uvicorn, so no other process can take the port in between."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise CommandError(f"port {port} is taken; set PORT to a free one, e.g. PORT={port + 1} make run") from None
        raise CommandError(f"cannot listen on {host}:{port}: {error.strerror}") from None
