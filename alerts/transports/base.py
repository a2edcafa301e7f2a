"""What every transport shares: the message it sends, its errors, and the base class."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import ClassVar
from urllib.parse import urlsplit

# What a stored secret reads as anywhere it is shown; sent back unchanged, it keeps the secret.
MASK = "********"
# How a message's first line starts, by its event.
PREFIXES = {
    "firing": "Firing",
    "updated": "Updated",
    "resolved": "Resolved",
    "reminder": "Still firing",
    "escalated": "Escalated",
    "test": "Test",
}


@dataclass(frozen=True)
class Message:
    event: str  # "firing" | "updated" | "acknowledged" | "resolved" | "reminder" | "escalated" | "test"
    alert_id: int | None  # an incident's notice: its first notified alert
    title: str
    text: str
    severity: str  # critical | high | medium | low
    url: str
    idempotency_key: str
    fields: dict[str, str] = field(default_factory=dict)  # the first alert's
    # An incident's notice: the incident and every alert in it (see docs/webhooks.md).
    incident: dict | None = None
    # What a receiver that tracks incidents (PagerDuty) groups by: the same for every notice
    # of one incident (alerts.outbox.dedup_key). Empty on messages stored before it existed.
    dedup_key: str = ""


class TransportError(Exception):
    """A failed send. permanent: retrying cannot help. disable_channel: the target is gone."""

    def __init__(
        self,
        message: str,
        permanent: bool = False,
        retry_after: float | None = None,
        disable_channel: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after
        self.disable_channel = disable_channel


class ConfigError(ValueError):
    """A channel config that cannot be used; field names the bad part, e.g. "config.to[1]"."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class Transport:
    kind: ClassVar[str] = ""
    label: ClassVar[str] = ""
    # Config keys that are secrets: encrypted at rest, masked when shown, never in a message.
    secret_keys: ClassVar[tuple[str, ...]] = ()
    # The notices this kind is sent (alerts.outbox.notify): only a kind that mirrors the alert's
    # state (PagerDuty) takes "acknowledged"; one with its own escalation needs no reminders.
    events: ClassVar[frozenset[str]] = frozenset({"firing", "updated", "reminder", "escalated", "resolved", "test"})

    def __init__(self, config: dict) -> None:
        self.config = config

    @classmethod
    def clean_config(cls, config: dict) -> dict:
        """Validate and normalise a channel's config; raise ConfigError naming the field."""
        return {}

    def notify(self, message: Message) -> str:
        """Send message; return what the receiver answered (e.g. "HTTP 200 ok").

        A failure's text never holds a secret of the config, whatever a lower layer put in it.
        """
        try:
            return self.send(message)
        except TransportError as error:
            raise self.hide_secrets(error) from None

    def send(self, message: Message) -> str:
        raise NotImplementedError

    def recipients(self) -> list[str]:
        return []

    def target(self) -> str:
        """Where the messages go, safe to show to anyone: no secret, nothing of one."""
        return ""

    def hide_secrets(self, error: TransportError) -> TransportError:
        text = error.message
        for key in self.secret_keys:
            value = self.config.get(key)
            if isinstance(value, str) and value:
                text = text.replace(value, MASK)
        error.message = text
        error.args = (text,)
        return error


def headline(message: Message) -> str:
    """A message's first line: "Firing: Breaker open on payments/charge"."""
    return f"{PREFIXES.get(message.event, message.event)}: {message.title}"


def http_answer(status: int, body: bytes) -> str:
    """What a receiver answered, on one line: "HTTP 200 ok"."""
    text = " ".join(body.decode(errors="replace").split())
    return f"HTTP {status} {text[:200]}".strip()


def hashed(kind: str, value: str) -> str:
    """A recipient named by a secret (a Slack URL), kept for rate limits without the secret."""
    return f"{kind}:sha256:{hashlib.sha256(value.encode()).hexdigest()}"


def require_dict(config: object) -> dict:
    if not isinstance(config, dict):
        raise ConfigError("config", "must be an object")
    return config


def clean_url(config: dict, name: str = "url") -> str:
    """An http(s) URL with a host. No DNS here: the send checks the address it resolves to."""
    value = config.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"config.{name}", "is required")
    value = value.strip()
    if len(value) > 2000:
        raise ConfigError(f"config.{name}", "must be at most 2000 characters")
    try:
        parts = urlsplit(value)
        _ = parts.port  # reading it raises ValueError on a bad port
    except ValueError:
        raise ConfigError(f"config.{name}", "is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"config.{name}", "must start with http:// or https://")
    if not parts.hostname:
        raise ConfigError(f"config.{name}", "must name a host")
    if parts.username or parts.password:
        raise ConfigError(f"config.{name}", "must not contain a user name or password")
    return value
