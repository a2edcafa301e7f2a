"""Real receivers for notifications: an HTTP server (Slack and webhooks) and an SMTP server.

The fixtures `http_receiver` and `smtp_server` reach every test through conftest's
`pytest_plugins`. http_receiver turns MONITOR_ALLOW_PRIVATE_WEBHOOK_TARGETS on, since it
listens on loopback; `.env` holds the same for a worker process. smtp_server points
Django's SMTP settings at itself; `.env` holds EMAIL_HOST and EMAIL_PORT for a worker
process.
"""

from __future__ import annotations

import email
import email.policy
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import orjson
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Session
from aiosmtpd.smtp import Envelope as SmtpEnvelope
from django.utils.datastructures import CaseInsensitiveMapping
from pytest_django import Settings

from tests.servers import free_port


@dataclass(frozen=True)
class Reply:
    """One planned answer. delay holds the answer back, e.g. longer than the client's timeout."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    delay: float = 0.0


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: CaseInsensitiveMapping
    body: bytes
    time: float

    def json(self) -> dict:
        return orjson.loads(self.body)


class Recorder:
    """Something a test waits on until enough items arrived."""

    def __init__(self) -> None:
        self.items: list = []
        self.changed = threading.Condition()

    def add(self, item: object) -> None:
        with self.changed:
            self.items.append(item)
            self.changed.notify_all()

    def wait_for(self, n: int, timeout: float = 10.0) -> list:
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.items) >= n, timeout=timeout):
                raise AssertionError(f"expected {n} within {timeout} s, got {len(self.items)}: {self.items!r}")
            return list(self.items)


class HttpReceiver(Recorder):
    """A real HTTP server on loopback that records requests and answers as planned."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__()
        self.plan: list[Reply] = [Reply()]
        self.closing = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler_class())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.env = {"MONITOR_ALLOW_PRIVATE_WEBHOOK_TARGETS": "1"}
        self.scheme = "http"
        self.server_names: list[str | None] = []
        if tls is not None:
            tls.sni_callback = lambda sock, name, context: self.server_names.append(name)
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"

    @property
    def requests(self) -> list[Request]:
        return self.items

    def url(self, path: str = "/hook") -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def respond_with(
        self,
        statuses: list[int | Reply],
        headers: dict[str, str] | None = None,
        body: bytes | str | None = None,
        delay: float = 0.0,
    ) -> None:
        """Answer the next requests with these statuses in order; the last one repeats."""
        if isinstance(body, str):
            body = body.encode()
        plan = [s if isinstance(s, Reply) else Reply(s, dict(headers or {}), body, delay) for s in statuses]
        with self.changed:
            self.plan = plan or [Reply()]

    def next_reply(self) -> Reply:
        with self.changed:
            return self.plan.pop(0) if len(self.plan) > 1 else self.plan[0]

    def refusal(self, request: Request) -> Reply | None:
        """An answer refusing a malformed request, as the real service would; None: the plan."""
        return None

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def handle_any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = CaseInsensitiveMapping(dict(self.headers.items()))
                request = Request(self.command, self.path, headers, body, time.time())
                receiver.add(request)
                reply = receiver.refusal(request) or receiver.next_reply()
                if reply.delay and receiver.closing.wait(reply.delay):
                    return
                # Like Slack: a plain "ok" for success, a short reason otherwise.
                text = reply.body if reply.body is not None else (b"ok" if reply.status < 300 else b"error")
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, format: str, *args: object) -> None:
                pass

        # http.server calls do_<METHOD>: every method gets the same handler.
        for method in ("GET", "POST", "PUT"):
            setattr(Handler, f"do_{method}", Handler.handle_any)
        return Handler

    def start(self) -> None:
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def http_receiver(settings: Settings) -> Iterator[HttpReceiver]:
    receiver = HttpReceiver()
    receiver.start()
    settings.MONITOR_ALLOW_PRIVATE_WEBHOOK_TARGETS = True
    try:
        yield receiver
    finally:
        receiver.stop()


class FormatReceiver(HttpReceiver):
    """A receiver speaking one service's format: a malformed payload gets that service's 400."""

    success = Reply(200)

    def __init__(self) -> None:
        super().__init__()
        self.plan = [self.success]

    def problems(self, body: dict) -> list[str]:
        raise NotImplementedError

    def refusal(self, request: Request) -> Reply | None:
        try:
            body = request.json()
        except orjson.JSONDecodeError:
            return Reply(400, body=b'{"message": "not JSON"}')
        if not isinstance(body, dict):
            return Reply(400, body=b'{"message": "not an object"}')
        found = self.problems(body)
        return Reply(400, body=orjson.dumps({"status": "invalid event", "errors": found})) if found else None


class PagerDutyReceiver(FormatReceiver):
    """Answers like PagerDuty's Events API v2 (POST /v2/enqueue): 202, or 400 naming the errors."""

    success = Reply(202, body=b'{"status": "success", "message": "Event processed"}')

    def problems(self, body: dict) -> list[str]:
        found = []
        if not isinstance(body.get("routing_key"), str) or len(body["routing_key"]) != 32:
            found.append("routing_key must be a 32-character string")
        action = body.get("event_action")
        if action not in ("trigger", "acknowledge", "resolve"):
            found.append("event_action must be trigger, acknowledge or resolve")
        if action in ("acknowledge", "resolve") and not body.get("dedup_key"):
            found.append("dedup_key is required to acknowledge or resolve")
        if len(str(body.get("dedup_key", ""))) > 255:
            found.append("dedup_key must be at most 255 characters")
        if action == "trigger":
            payload = body.get("payload") or {}
            for key in ("summary", "source", "severity"):
                if not payload.get(key):
                    found.append(f"payload.{key} is required")
            if payload.get("severity") not in ("critical", "error", "warning", "info"):
                found.append("payload.severity must be critical, error, warning or info")
            if len(str(payload.get("summary", ""))) > 1024:
                found.append("payload.summary must be at most 1024 characters")
        return found


class TeamsReceiver(FormatReceiver):
    """Answers like a Teams workflow webhook: 202 for a message with an Adaptive Card."""

    success = Reply(202, body=b"")

    def problems(self, body: dict) -> list[str]:
        if body.get("type") != "message":
            return ["type must be message"]
        attachments = body.get("attachments")
        if not isinstance(attachments, list) or not attachments:
            return ["attachments must hold a card"]
        found = []
        for i, attachment in enumerate(attachments):
            if attachment.get("contentType") != "application/vnd.microsoft.card.adaptive":
                found.append(f"attachments[{i}].contentType must be an Adaptive Card")
            card = attachment.get("content") or {}
            if card.get("type") != "AdaptiveCard" or not card.get("version"):
                found.append(f"attachments[{i}].content must be an AdaptiveCard with a version")
            if not isinstance(card.get("body"), list) or not card["body"]:
                found.append(f"attachments[{i}].content.body must hold elements")
        return found


class DiscordReceiver(FormatReceiver):
    """Answers like a Discord webhook: 204, or 400 with Discord's error shape."""

    success = Reply(204, body=b"")

    def problems(self, body: dict) -> list[str]:
        embeds = body.get("embeds") or []
        if not body.get("content") and not embeds:
            return ["Cannot send an empty message"]
        found = []
        if len(body.get("content", "")) > 2000:
            found.append("content: Must be 2000 or fewer in length.")
        if len(embeds) > 10:
            found.append("embeds: Must be 10 or fewer in length.")
        for i, embed in enumerate(embeds):
            if len(embed.get("title", "")) > 256 or len(embed.get("description", "")) > 4096:
                found.append(f"embeds.{i}: title or description too long")
            if len(embed.get("fields", [])) > 25:
                found.append(f"embeds.{i}.fields: Must be 25 or fewer in length.")
            if not isinstance(embed.get("color", 0), int):
                found.append(f"embeds.{i}.color: must be an integer")
            texts = [embed.get("title", ""), embed.get("description", ""), (embed.get("footer") or {}).get("text", "")]
            texts += [f.get("name", "") + f.get("value", "") for f in embed.get("fields", [])]
            if sum(map(len, texts)) > 6000:
                found.append(f"embeds.{i}: Embed size exceeds maximum size of 6000")
        return found


def format_receiver(cls: type[FormatReceiver], settings: Settings) -> Iterator[FormatReceiver]:
    receiver = cls()
    receiver.start()
    settings.MONITOR_ALLOW_PRIVATE_WEBHOOK_TARGETS = True
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture
def pagerduty_receiver(settings: Settings) -> Iterator[FormatReceiver]:
    yield from format_receiver(PagerDutyReceiver, settings)


@pytest.fixture
def teams_receiver(settings: Settings) -> Iterator[FormatReceiver]:
    yield from format_receiver(TeamsReceiver, settings)


@pytest.fixture
def discord_receiver(settings: Settings) -> Iterator[FormatReceiver]:
    yield from format_receiver(DiscordReceiver, settings)


@dataclass(frozen=True)
class Envelope:
    mail_from: str
    rcpt_tos: list[str]


class SmtpReceiver(Recorder):
    """An aiosmtpd server on loopback that keeps every message, parsed, or rejects as told."""

    def __init__(self) -> None:
        super().__init__()
        self.envelopes: list[Envelope] = []
        self.rejection: tuple[int, str] | None = None
        self.port = free_port()
        # aiosmtpd calls a handler's handle_<COMMAND> methods: these are ours.
        hooks = SimpleNamespace(handle_RCPT=self.rcpt, handle_DATA=self.data)
        self.controller = Controller(hooks, hostname="127.0.0.1", port=self.port)
        self.env = {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(self.port)}

    @property
    def messages(self) -> list[EmailMessage]:
        return self.items

    def reject_with(self, code: int, at: str = "rcpt") -> None:
        """Answer RCPT TO (or DATA, with at="data") with this code from now on."""
        self.rejection = (code, at)

    def reply_for(self, stage: str) -> str | None:
        if self.rejection and self.rejection[1] == stage:
            code = self.rejection[0]
            return f"{code} {'5.1.1 No such user' if code >= 500 else '4.3.0 Try again later'}"
        return None

    async def rcpt(
        self, server: SMTP, session: Session, envelope: SmtpEnvelope, address: str, rcpt_options: list[str]
    ) -> str:
        refused = self.reply_for("rcpt")
        if refused:
            return refused
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def data(self, server: SMTP, session: Session, envelope: SmtpEnvelope) -> str:
        refused = self.reply_for("data")
        if refused:
            return refused
        self.envelopes.append(Envelope(envelope.mail_from, list(envelope.rcpt_tos)))
        self.add(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(settings: Settings) -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver()
    receiver.controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = receiver.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    try:
        yield receiver
    finally:
        receiver.controller.stop()
