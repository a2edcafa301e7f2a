"""The outbound HTTP helper against a real local HTTP server."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from pytest_django import Settings

from alerts.http import post_json
from alerts.transports import TransportError
from tests.receivers import HttpReceiver, Reply
from tests.servers import free_port, missing

BODY = b'{"hello": "world"}'
JSON = {"Content-Type": "application/json"}


def test_it_posts_the_body_and_returns_the_answer(http_receiver: HttpReceiver) -> None:
    response = post_json(http_receiver.url("/in?x=1"), BODY, {**JSON, "X-Extra": "1"})

    assert response.status == 200
    assert response.body == b"ok"
    [request] = http_receiver.requests
    assert (request.method, request.path, request.body) == ("POST", "/in?x=1", BODY)
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Extra"] == "1"
    assert request.headers["Host"] == f"127.0.0.1:{http_receiver.port}"


def test_it_sends_the_host_name_it_was_given(http_receiver: HttpReceiver) -> None:
    url = http_receiver.url("/named").replace("127.0.0.1", "localhost")

    post_json(url, BODY, JSON)

    assert http_receiver.requests[0].headers["Host"] == f"localhost:{http_receiver.port}"


def test_it_treats_500_as_temporary(http_receiver: HttpReceiver) -> None:
    http_receiver.respond_with([500])

    with pytest.raises(TransportError) as e:
        post_json(http_receiver.url(), BODY, JSON)

    assert not e.value.permanent
    assert e.value.retry_after is None
    assert "500" in e.value.message


def test_it_reads_retry_after_seconds_from_a_429(http_receiver: HttpReceiver) -> None:
    http_receiver.respond_with([429], headers={"Retry-After": "7"})

    with pytest.raises(TransportError) as e:
        post_json(http_receiver.url(), BODY, JSON)

    assert not e.value.permanent
    assert e.value.retry_after == 7.0


def test_it_reads_retry_after_as_an_http_date(http_receiver: HttpReceiver) -> None:
    later = datetime.now(UTC) + timedelta(seconds=120)
    http_receiver.respond_with([429], headers={"Retry-After": format_datetime(later, usegmt=True)})

    with pytest.raises(TransportError) as e:
        post_json(http_receiver.url(), BODY, JSON)

    assert 100 < e.value.retry_after <= 120


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_it_treats_other_4xx_as_permanent(http_receiver: HttpReceiver, status: int) -> None:
    http_receiver.respond_with([status])

    with pytest.raises(TransportError) as e:
        post_json(http_receiver.url(), BODY, JSON)

    assert e.value.permanent
    assert e.value.status == status


def test_it_follows_three_redirects_keeping_the_post(http_receiver: HttpReceiver) -> None:
    http_receiver.respond_with(
        [
            Reply(307, {"Location": "/one"}),
            Reply(308, {"Location": http_receiver.url("/two")}),
            Reply(307, {"Location": "/three"}),
            200,
        ]
    )

    response = post_json(http_receiver.url("/start"), BODY, JSON)

    assert response.status == 200
    assert [r.path for r in http_receiver.requests] == ["/start", "/one", "/two", "/three"]
    assert all(r.method == "POST" and r.body == BODY for r in http_receiver.requests)


def test_it_refuses_a_fourth_redirect(http_receiver: HttpReceiver) -> None:
    http_receiver.respond_with([Reply(307, {"Location": "/again"})])

    with pytest.raises(TransportError) as e:
        post_json(http_receiver.url(), BODY, JSON)

    assert e.value.permanent
    assert "redirects" in e.value.message
    assert len(http_receiver.requests) == 4


def test_it_turns_a_303_into_a_get(http_receiver: HttpReceiver) -> None:
    http_receiver.respond_with([Reply(303, {"Location": "/see"}), 200])

    post_json(http_receiver.url(), BODY, JSON)

    second = http_receiver.wait_for(2)[1]
    assert (second.method, second.path, second.body) == ("GET", "/see", b"")


def test_it_checks_each_redirect_target(http_receiver: HttpReceiver) -> None:
    http_receiver.respond_with([Reply(302, {"Location": "file:///etc/passwd"})])

    with pytest.raises(TransportError) as e:
        post_json(http_receiver.url(), BODY, JSON)

    assert e.value.permanent
    assert "only http and https" in e.value.message


@pytest.mark.parametrize("location", ["http://127.0.0.1:99999/x", "/with space"])
def test_it_refuses_a_malformed_redirect_target(http_receiver: HttpReceiver, location: str) -> None:
    http_receiver.respond_with([Reply(307, {"Location": location})])

    with pytest.raises(TransportError) as e:
        post_json(http_receiver.url(), BODY, JSON)

    assert e.value.permanent
    assert len(http_receiver.requests) == 1


def test_it_refuses_a_header_with_a_line_break(http_receiver: HttpReceiver) -> None:
    with pytest.raises(TransportError) as e:
        post_json(http_receiver.url(), BODY, {**JSON, "Idempotency-Key": "k\r\nX-Injected: 1"})

    assert e.value.permanent
    assert http_receiver.requests == []


def test_it_refuses_loopback_by_default(http_receiver: HttpReceiver, settings: Settings) -> None:
    settings.MONITOR_ALLOW_PRIVATE_WEBHOOK_TARGETS = False

    with pytest.raises(TransportError) as e:
        post_json(http_receiver.url(), BODY, JSON)

    assert e.value.permanent
    assert "MONITOR_ALLOW_PRIVATE_WEBHOOK_TARGETS" in e.value.message
    assert http_receiver.requests == []


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.10",
        "100.64.0.1",
        "169.254.169.254",
        "224.0.0.1",
        "240.0.0.1",
        "0.0.0.0",
        "[::1]",
        "[::]",
        "[fe80::1]",
        "[fc00::1]",
        "[ff02::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:10.0.0.1]",
    ],
)
def test_it_refuses_private_and_reserved_addresses(host: str, settings: Settings) -> None:
    settings.MONITOR_ALLOW_PRIVATE_WEBHOOK_TARGETS = False

    started = time.monotonic()
    with pytest.raises(TransportError) as e:
        post_json(f"http://{host}:9/hook", BODY, JSON)

    assert e.value.permanent
    assert "refused" in e.value.message
    assert time.monotonic() - started < 2  # refused before any connection attempt


def test_it_times_out_on_a_receiver_that_never_answers(http_receiver: HttpReceiver, settings: Settings) -> None:
    settings.MONITOR_HTTP_TIMEOUT_S = 0.5
    http_receiver.respond_with([200], delay=10)

    started = time.monotonic()
    with pytest.raises(TransportError) as e:
        post_json(http_receiver.url(), BODY, JSON)

    assert time.monotonic() - started < 3
    assert not e.value.permanent
    assert "did not answer within 0.5 s" in e.value.message


def test_it_treats_a_refused_connection_as_temporary(settings: Settings) -> None:
    settings.MONITOR_ALLOW_PRIVATE_WEBHOOK_TARGETS = True
    port = free_port()  # nothing listens there

    with pytest.raises(TransportError) as e:
        post_json(f"http://127.0.0.1:{port}/hook", BODY, JSON)

    assert not e.value.permanent
    assert "connection to 127.0.0.1 failed" in e.value.message


def test_it_treats_a_dropped_connection_as_temporary(settings: Settings) -> None:
    settings.MONITOR_ALLOW_PRIVATE_WEBHOOK_TARGETS = True
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        # A peer that accepts, then hangs up without a word.
        def hang_up() -> None:
            conn, _ = listener.accept()
            conn.recv(65536)
            conn.close()

        threading.Thread(target=hang_up, daemon=True).start()
        with pytest.raises(TransportError) as e:
            post_json(f"http://127.0.0.1:{port}/hook", BODY, JSON)

    assert not e.value.permanent


def test_its_timeout_covers_the_redirects_too(http_receiver: HttpReceiver, settings: Settings) -> None:
    settings.MONITOR_HTTP_TIMEOUT_S = 1.0
    http_receiver.respond_with([Reply(307, {"Location": "/slow"}, delay=0.6)])

    started = time.monotonic()
    with pytest.raises(TransportError) as e:
        post_json(http_receiver.url(), BODY, JSON)

    assert time.monotonic() - started < 1.5
    assert not e.value.permanent
    assert "did not answer within 1 s" in e.value.message
    assert len(http_receiver.requests) == 2


@pytest.fixture
def https_receiver(tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpReceiver]:
    """A TLS receiver whose self-signed certificate names only "localhost", trusted for this test."""
    openssl = shutil.which("openssl")
    if openssl is None:
        missing("openssl is not installed, needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    # OpenSSL reads SSL_CERT_FILE whenever a default context loads its trust store.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    settings.MONITOR_ALLOW_PRIVATE_WEBHOOK_TARGETS = True
    receiver = HttpReceiver(tls=context)
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


def test_it_sends_the_host_name_over_tls(https_receiver: HttpReceiver) -> None:
    url = https_receiver.url("/secure").replace("127.0.0.1", "localhost")

    response = post_json(url, BODY, JSON)

    assert response.status == 200
    assert https_receiver.server_names == ["localhost"]
    [request] = https_receiver.requests
    assert (request.path, request.body) == ("/secure", BODY)
    assert request.headers["Host"] == f"localhost:{https_receiver.port}"


def test_it_checks_the_certificate_names_the_host(https_receiver: HttpReceiver) -> None:
    # The certificate names localhost, not 127.0.0.1.
    with pytest.raises(TransportError) as e:
        post_json(https_receiver.url("/secure"), BODY, JSON)

    assert "certificate" in e.value.message.lower()
    assert https_receiver.requests == []
