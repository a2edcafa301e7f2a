"""A batch sent with chunked transfer encoding straight to the WSGI server is read whole."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
from django.conf import settings

from monitoring.models import Function, IngestToken, Service
from tests.conftest import ROOT, call, stored_calls
from tests.servers import free_port, stop, wait_for_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def wsgi_port(subprocess_env: dict[str, str]) -> Iterator[int]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "resilience_site.wsgi:application", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=subprocess_env,
    )
    try:
        wait_for_port(port, process, timeout=30)
        yield port
    finally:
        stop(process)


def post_chunked(port: int, token: str, body: bytes) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    pieces = (body[i : i + 100] for i in range(0, len(body), 100))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    connection.request("POST", "/api/v1/ingest", body=pieces, headers=headers, encode_chunked=True)
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def test_a_chunked_batch_is_stored(wsgi_port: int) -> None:
    _, token = IngestToken.issue(service=Service.objects.create(name="payments"))
    body = json.dumps({"calls": [call("charge"), call("charge", outcome="failure")]}).encode()
    status, answer = post_chunked(wsgi_port, token, body)
    assert (status, answer["accepted"]["calls"]) == (202, 2)
    assert stored_calls(function__name="charge").calls == 2


def test_a_chunked_body_over_the_limit_is_refused(wsgi_port: int) -> None:
    _, token = IngestToken.issue(service=Service.objects.create(name="payments"))
    # Fewer items than the batch limit, more bytes than the body limit.
    calls = [call("charge" + "x" * 190)] * 4000
    body = json.dumps({"calls": calls}).encode()
    assert len(body) > settings.MONITOR_MAX_BODY_BYTES
    status, answer = post_chunked(wsgi_port, token, body)
    assert status == 413
    assert "bytes" in answer["detail"]
    assert not Function.objects.exists()
