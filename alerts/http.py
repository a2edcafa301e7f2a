"""The one outbound HTTP helper every transport uses.

Each target (the URL and every redirect) is resolved once, its address checked, and the
connection made to that checked address while Host and SNI name the host, so a second DNS
answer cannot swap in an internal address between the check and the request.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

from django.conf import settings

from alerts.transports.base import TransportError

MAX_REDIRECTS = 3
MAX_RESPONSE_BYTES = 64 * 1024
REDIRECTS = (301, 302, 303, 307, 308)
USER_AGENT = "resilience-monitor"


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


class HttpStatusError(TransportError):
    """The target answered with a status we treat as a failure; status says which."""

    def __init__(self, message: str, status: int, body: bytes = b"", **kwargs: object) -> None:
        super().__init__(message, **kwargs)
        self.status = status
        self.body = body


def post_json(url: str, body: bytes, headers: dict[str, str]) -> Response:
    """POST body to url, following at most 3 redirects; raise TransportError unless 2xx."""
    method, data = "POST", body
    # One time budget for the whole exchange, redirects included.
    deadline = time.monotonic() + timeout_s()
    for _ in range(MAX_REDIRECTS + 1):
        response = request_once(method, url, data, headers, deadline)
        location = response.headers.get("location")
        if response.status not in REDIRECTS or not location:
            return check_status(url, response)
        url = urljoin(url, location)
        if response.status in (301, 302, 303):
            # Like browsers and curl: only 307 and 308 repeat a POST with its body.
            method, data = "GET", b""
    raise TransportError(f"more than {MAX_REDIRECTS} redirects, last to {url}", permanent=True)


def post_to_hook(url: str, body: bytes, gone: tuple[int, ...], says: Callable[[HttpStatusError], str]) -> Response:
    """POST a JSON body to a chat webhook; an answer in `gone` means the hook was removed:
    a permanent error (says(error) tells why) that disables the channel."""
    try:
        return post_json(url, body, {"Content-Type": "application/json"})
    except HttpStatusError as e:
        if e.status in gone:
            raise TransportError(says(e), permanent=True, disable_channel=True) from None
        raise


def request_once(method: str, url: str, body: bytes, headers: dict[str, str], deadline: float) -> Response:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TransportError(f"refused {url!r}: only http and https URLs with a host", permanent=True)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TransportError(f"refused {url!r}: not a valid port", permanent=True) from None
    addresses = checked_addresses(parts.hostname, port)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TransportError(f"{parts.hostname} did not answer within {timeout_s():g} s")
    connection = pinned_connection(parts.scheme, parts.hostname, port, addresses, remaining)
    all_headers = {"User-Agent": USER_AGENT, **headers}
    if method == "GET":
        all_headers = {k: v for k, v in all_headers.items() if k.lower() != "content-type"}
    try:
        connection.request(method, path, body=body or None, headers=all_headers)
        reply = connection.getresponse()
        data = reply.read(MAX_RESPONSE_BYTES)
        return Response(reply.status, {k.lower(): v for k, v in reply.getheaders()}, data)
    except TimeoutError:
        raise TransportError(f"{parts.hostname} did not answer within {timeout_s():g} s") from None
    except http.client.InvalidURL as e:
        raise TransportError(f"refused {url!r}: {e}", permanent=True) from None
    except ValueError as e:  # http.client refuses a header value with a line break
        raise TransportError(f"cannot send to {parts.hostname}: {e}", permanent=True) from None
    except (OSError, http.client.HTTPException) as e:
        raise TransportError(f"connection to {parts.hostname} failed: {e or type(e).__name__}") from None
    finally:
        connection.close()


def check_status(url: str, response: Response) -> Response:
    status = response.status
    if 200 <= status < 300:
        return response
    host = urlsplit(url).hostname
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        raise HttpStatusError(f"{host} answered 429 Too Many Requests", status, response.body, retry_after=retry_after)
    if status >= 500:
        raise HttpStatusError(f"{host} answered {status}", status, response.body)
    raise HttpStatusError(f"{host} answered {status}", status, response.body, permanent=True)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either delay seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def timeout_s() -> float:
    return float(getattr(settings, "MONITOR_HTTP_TIMEOUT_S", 30))


def checked_addresses(host: str, port: int) -> list[str]:
    """Resolve host once and return the addresses we may connect to, or refuse permanently."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise TransportError(f"cannot resolve {host}: {e}") from None
    addresses = [info[4][0].split("%", 1)[0] for info in infos]
    allowed = [a for a in addresses if settings.MONITOR_ALLOW_PRIVATE_WEBHOOK_TARGETS or is_public(a)]
    if allowed:
        return list(dict.fromkeys(allowed))
    raise TransportError(
        f"refused {host}: it resolves to a private, loopback or reserved address ({addresses[0]}); "
        "set MONITOR_ALLOW_PRIVATE_WEBHOOK_TARGETS=1 to allow internal targets",
        permanent=True,
    )


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified
    )


def connect_to_first(addresses: list[str], port: int, timeout: float) -> socket.socket:
    """Try the checked addresses in order, as socket.create_connection does for a name."""
    error: OSError | None = None
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout)
        except TimeoutError:
            raise
        except OSError as e:
            error = e
    raise error or OSError("no address to connect to")


class PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to checked addresses only; Host still names the host."""

    def __init__(self, host: str, port: int, addresses: list[str], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.addresses = addresses

    def connect(self) -> None:
        self.sock = connect_to_first(self.addresses, self.port, self.timeout)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to checked addresses only; Host, SNI and the certificate check name the host."""

    def __init__(self, host: str, port: int, addresses: list[str], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.addresses = addresses

    def connect(self) -> None:
        sock = connect_to_first(self.addresses, self.port, self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def pinned_connection(
    scheme: str, host: str, port: int, addresses: list[str], timeout: float
) -> http.client.HTTPConnection:
    cls = PinnedHTTPSConnection if scheme == "https" else PinnedHTTPConnection
    return cls(host, port, addresses, timeout)
