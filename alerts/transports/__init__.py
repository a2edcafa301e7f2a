"""One transport class per channel kind; the registry also feeds Channel.kind's choices."""

from __future__ import annotations

from .base import ConfigError, Message, Transport, TransportError
from .discord import Discord
from .email import Email
from .log import Log
from .pagerduty import PagerDuty
from .slack import Slack
from .teams import Teams
from .webhook import Webhook

TRANSPORTS: dict[str, type[Transport]] = {
    "webhook": Webhook,
    "slack": Slack,
    "email": Email,
    "log": Log,
    "pagerduty": PagerDuty,
    "teams": Teams,
    "discord": Discord,
}
KIND_CHOICES = [(kind, cls.label) for kind, cls in TRANSPORTS.items()]


def transport_for(kind: str, config: dict) -> Transport:
    try:
        cls = TRANSPORTS[kind]
    except KeyError:
        raise ConfigError("kind", f"unknown channel kind {kind!r}") from None
    return cls(config)


__all__ = [
    "KIND_CHOICES",
    "TRANSPORTS",
    "ConfigError",
    "Message",
    "Transport",
    "TransportError",
    "transport_for",
]
