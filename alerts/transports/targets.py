"""Targets checked when a channel is saved, and shown without their secret parts.

The send checks every address again (alerts/http.py): a name may resolve elsewhere later.
Here a target is refused early, with its field named, when it is already known to point
inside: a private, loopback or reserved address, or a name that resolves only to such.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from alerts import http as outbound

from .base import ConfigError


def addresses_of(host: str, port: int) -> list[str]:
    """The addresses host resolves to now; [] when it does not resolve (the send will tell)."""
    try:
        ipaddress.ip_address(host)
        return [host]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        return []
    return [info[4][0].split("%", 1)[0] for info in infos]


def refuse_internal(field: str, host: str, port: int) -> None:
    """ConfigError(field) when host can only be reached inside, unless internal targets are allowed."""
    if settings.MONITOR_ALLOW_PRIVATE_WEBHOOK_TARGETS:
        return
    found = addresses_of(host, port)
    # Like the send: refused only when no address it resolves to is public.
    if found and not any(outbound.is_public(address) for address in found):
        raise ConfigError(
            field,
            f"{host} is a private, loopback or reserved address ({found[0]}); "
            "internal targets need MONITOR_ALLOW_PRIVATE_WEBHOOK_TARGETS=1",
        )


def refuse_internal_url(field: str, url: str) -> None:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    refuse_internal(field, parts.hostname or "", port)


def shown_url(url: str) -> str:
    """scheme://host[:port]/path, the query left out (it often carries a token)."""
    parts = urlsplit(url)
    shown = f"{parts.scheme}://{parts.netloc}{parts.path}"
    return shown + ("?…" if parts.query else "")
