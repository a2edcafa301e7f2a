"""How the reporter takes the monitor's answers: lost answers, 429, the monitor down then back."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from monitoring.models import CallBucket
from resilience_client import Reporter, monitored
from tests.conftest import stored_calls
from tests.servers import free_port
from tests.waiting import wait_until


class Proxy:
    """A real HTTP server in front of the site that answers from a script, then forwards.

    "refuse:429" answers 429 without forwarding; "lose:503" forwards (the site stores
    the batch) and then answers 503, as if the answer were lost on the way back.
    """

    def __init__(self, target: str, port: int = 0) -> None:
        self.target = target
        self.script: deque[str] = deque()
        self.seen: list[tuple[str, int, float]] = []  # (batch_id, status, monotonic time)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                action, _, code = (proxy.script.popleft() if proxy.script else "forward").partition(":")
                status, answer = (int(code), b"{}") if action == "refuse" else proxy.forward(self, body)
                if action == "lose":
                    status, answer = int(code), b"{}"
                proxy.seen.append((json.loads(body)["batch_id"], status, time.monotonic()))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Retry-After", "1")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, bytes]:
        request = urllib.request.Request(
            self.target + handler.path,
            data=body,
            headers={name: handler.headers[name] for name in ("Authorization", "Content-Type")},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(live_site: str) -> Iterator[Proxy]:
    proxy = Proxy(live_site)
    yield proxy
    proxy.close()


def charge_calls(reporter: Reporter, n: int) -> None:
    @monitored("charge_card", reporter=reporter)
    def charge() -> None:
        pass

    for _ in range(n):
        charge()


@pytest.mark.django_db(transaction=True)
def test_it_resends_a_batch_whose_answer_was_lost_and_counts_it_once(proxy: Proxy, token: str) -> None:
    proxy.script.append("lose:503")
    reporter = Reporter(proxy.url, token, flush_interval=0.1, base_backoff=0.05)
    charge_calls(reporter, 10)
    assert reporter.flush(15)

    first, second = proxy.seen
    assert (first[1], second[1]) == (503, 200)  # 200: the site saw a duplicate
    assert first[0] == second[0]  # the same batch_id
    assert stored_calls(function__name="charge_card").success == 10
    assert reporter.stats() == {"sent": 10, "dropped": 0, "retried": 1, "failed": 0, "batches": 1, "pending": 0}


@pytest.mark.django_db(transaction=True)
def test_it_waits_retry_after_on_429_then_sends_the_same_batch(proxy: Proxy, token: str) -> None:
    proxy.script.append("refuse:429")
    reporter = Reporter(proxy.url, token, flush_interval=0.1, base_backoff=0.05)
    charge_calls(reporter, 7)
    assert reporter.flush(15)

    (first_id, first_status, first_at), (second_id, second_status, second_at) = proxy.seen
    assert (first_status, second_status) == (429, 202)
    assert first_id == second_id
    assert second_at - first_at >= 1.0  # Retry-After: 1
    assert stored_calls(function__name="charge_card").success == 7
    assert reporter.stats()["retried"] == 1


@pytest.mark.django_db(transaction=True)
def test_it_keeps_calls_while_the_monitor_is_down_and_sends_them_when_it_is_back(live_site: str, token: str) -> None:
    port = free_port()  # nothing listens here yet: connections are refused
    reporter = Reporter(f"http://127.0.0.1:{port}", token, flush_interval=0.05, base_backoff=0.05, max_backoff=0.2)
    started = time.monotonic()
    charge_calls(reporter, 30)
    assert time.monotonic() - started < 0.5
    wait_until(lambda: reporter.stats()["retried"] >= 1)  # the sender found the monitor down
    stats = reporter.stats()
    assert (stats["sent"], stats["pending"]) == (0, 30)

    proxy = Proxy(live_site, port=port)
    try:
        assert reporter.flush(15)
    finally:
        proxy.close()
    assert stored_calls(function__name="charge_card").success == 30
    assert len({batch_id for batch_id, _, _ in proxy.seen}) == 1


@pytest.mark.django_db(transaction=True)
def test_it_drops_and_counts_a_batch_the_monitor_refuses(live_site: str, token: str) -> None:
    reporter = Reporter(live_site, "rmi_not-a-token", flush_interval=0.1)
    charge_calls(reporter, 5)
    assert reporter.flush(10)
    assert reporter.stats() == {"sent": 0, "dropped": 5, "retried": 0, "failed": 1, "batches": 0, "pending": 0}
    assert not CallBucket.objects.exists()
