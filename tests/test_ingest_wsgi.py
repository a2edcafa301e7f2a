"""The ingest paths through the production WSGI application, which sends them past the
browser middleware (sessions, login, CSRF, messages): what a service sees stays the same."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from wsgiref.util import setup_testing_defaults

import orjson
import pytest
from django.core.signals import request_started
from django.db import close_old_connections, connection
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from pytest_django import Settings

from monitoring.models import Function
from resilience_site.wsgi import application
from tests.conftest import call, stored_calls
from tests.otlp import Sdk

PROTOBUF = "application/x-protobuf"


@pytest.fixture(autouse=True)
def keep_the_test_connection() -> Iterator[None]:
    """As Django's test client does: the request must not close the test's own connection."""
    request_started.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)


def wsgi(method: str, path: str, body: bytes = b"", **headers: str) -> tuple[int, dict[str, str], bytes]:
    environ: dict = {"REQUEST_METHOD": method, "PATH_INFO": path, "wsgi.input": io.BytesIO(body)}
    environ["CONTENT_LENGTH"] = str(len(body))
    environ["CONTENT_TYPE"] = headers.pop("content_type", "application/json")
    environ.update({f"HTTP_{name.upper()}": value for name, value in headers.items()})
    setup_testing_defaults(environ)
    started: dict = {}

    def start_response(status: str, response_headers: list[tuple[str, str]]) -> None:
        started["status"], started["headers"] = int(status.split()[0]), dict(response_headers)

    answer = b"".join(application(environ, start_response))
    return started["status"], started["headers"], answer


def ingest(token: str, batch: dict | bytes, path: str = "/api/v1/ingest") -> tuple[int, dict[str, str], dict]:
    body = batch if isinstance(batch, bytes) else orjson.dumps(batch)
    status, headers, answer = wsgi("POST", path, body, authorization=f"Bearer {token}")
    return status, headers, orjson.loads(answer)


def test_a_batch_is_stored_and_answered_without_a_session_or_a_csrf_token(token: str) -> None:
    batch = {"batch_id": "b-1", "calls": [call(), call(outcome="failure")]}
    status, headers, answer = ingest(token, batch)
    assert (status, answer["accepted"]["calls"], answer["duplicate"]) == (202, 2, False)
    assert "Set-Cookie" not in headers and headers["Content-Type"] == "application/json"
    assert headers["X-Content-Type-Options"] == "nosniff"  # the security middleware still runs
    assert (stored_calls().success, stored_calls().failure) == (1, 1)

    status, _, answer = ingest(token, batch)
    assert (status, answer["duplicate"]) == (200, True)
    assert stored_calls().calls == 2


def test_answers_say_their_length_so_the_server_need_not_chunk_them(token: str) -> None:
    for batch in ({"calls": [call()]}, {"calls": [call(duration_ms=-1)]}):
        status, headers, answer = wsgi("POST", "/api/v1/ingest", orjson.dumps(batch), authorization=f"Bearer {token}")
        assert status in (202, 422) and headers["Content-Length"] == str(len(answer))


def test_validate_answers_the_same_way(token: str) -> None:
    status, _, answer = ingest(token, {"calls": [call()]}, "/api/v1/ingest/validate")
    assert (status, answer["items"]["calls"]) == (200, 1)
    status, _, answer = ingest(token, {"calls": [call(duration_ms=-1)]}, "/api/v1/ingest/validate")
    assert (status, answer["field"]) == (422, "calls[0].duration_ms")


def test_refusals_keep_the_api_error_shape(token: str, settings: Settings) -> None:
    status, _, answer = ingest("rmi_not-a-real-token", {"calls": [call()]})
    assert (status, answer["detail"]) == (401, "Unauthorized")
    status, _, answer = ingest(token, {"calls": [call(), call(duration_ms="slow")]})
    assert (status, answer["field"]) == (422, "calls[1].duration_ms")
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    status, _, answer = ingest(token, {"calls": [call()] * 5})
    assert status == 413 and "limit" in answer["detail"]
    status, headers, answer = wsgi("GET", "/api/v1/ingest", authorization=f"Bearer {token}")
    assert status == 405 and orjson.loads(answer)["detail"] == "method not allowed"
    assert stored_calls().calls == 0


@pytest.mark.django_db(transaction=True)
def test_a_locked_database_answers_503_with_retry_after(token: str) -> None:
    holding, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        from django.db import connections

        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                if other.vendor == "postgresql":
                    cursor.execute("BEGIN")
                    cursor.execute(f"LOCK TABLE {Function._meta.db_table} IN ACCESS EXCLUSIVE MODE")
                else:
                    cursor.execute("BEGIN EXCLUSIVE")
                holding.set()
                release.wait(20)
                cursor.execute("ROLLBACK")
        finally:
            other.close()

    thread = threading.Thread(target=hold_lock)
    thread.start()
    assert holding.wait(10)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET lock_timeout = 300")
        else:
            connection.connection.execute("PRAGMA busy_timeout = 300")
    try:
        status, headers, answer = ingest(token, {"calls": [call()]})
    finally:
        release.set()
        thread.join()
    assert (status, headers["Retry-After"]) == (503, "5")
    assert "retry" in answer["detail"]
    assert stored_calls().calls == 0
    assert ingest(token, {"calls": [call()]})[0] == 202


def test_an_otlp_export_takes_the_same_short_way(token: str) -> None:
    sdk = Sdk()
    sdk.call("charge", 12.0)
    sdk.call("charge", 30.0, outcome="failure")
    body = sdk.request().SerializeToString()
    sdk.close()
    status, headers, answer = wsgi(
        "POST", "/otlp/v1/metrics", body, content_type=PROTOBUF, authorization=f"Bearer {token}"
    )
    assert (status, headers["Content-Type"]) == (200, PROTOBUF)
    assert not ExportMetricsServiceResponse.FromString(answer).HasField("partial_success")
    assert "Set-Cookie" not in headers and headers["X-Content-Type-Options"] == "nosniff"
    assert (stored_calls().success, stored_calls().failure) == (1, 1)


def test_the_direct_ingest_refuses_tokens_as_the_api_does(token: str, settings: Settings) -> None:
    """POST /api/v1/ingest skips URL resolution and ninja's operation here: its refusals stay the API's."""
    from django.core.cache import cache

    settings.MONITOR_AUTH_FAILURES_PER_ADDRESS = 3
    cache.clear()
    body = orjson.dumps({"calls": [call()]})
    status, _, answer = wsgi("POST", "/api/v1/ingest", body)
    assert (status, orjson.loads(answer)) == (401, {"detail": "Unauthorized", "field": ""})
    status, _, answer = wsgi("POST", "/api/v1/ingest", body, authorization=f"Token {token}")
    assert status == 401  # not the bearer scheme
    statuses = [ingest("rmi_wrong", {"calls": [call()]})[0] for _ in range(3)]
    status, headers, answer = ingest("rmi_wrong", {"calls": [call()]})
    assert statuses + [status] == [401, 401, 401, 429]  # wrong tokens past 3 (no token is no wrong token)
    assert answer["detail"].startswith("too many failed token authentications") and "Retry-After" in headers
    cache.clear()
    status, _, answer = wsgi("POST", "/api/v1/ingest", body, authorization=f"bearer {token}")
    assert (status, orjson.loads(answer)["accepted"]["calls"]) == (202, 1)  # the scheme in any case
    assert stored_calls().calls == 1
