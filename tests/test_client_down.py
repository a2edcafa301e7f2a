"""The monitor down or hanging never blocks the host program, and memory stays bounded."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator

import pytest

from resilience_client import Reporter, monitored
from tests.servers import free_port
from tests.waiting import wait_until


@pytest.fixture
def hanging_url() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(100)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_it_returns_promptly_and_counts_what_it_drops_when_the_monitor_is_down() -> None:
    reporter = Reporter(f"http://127.0.0.1:{free_port()}", "rmi_x", flush_interval=0.05, base_backoff=0.05)

    @monitored("charge_card", reporter=reporter)
    def charge(n: int) -> int:
        return n * 2

    started = time.monotonic()
    assert [charge(n) for n in range(200)] == [n * 2 for n in range(200)]
    assert time.monotonic() - started < 0.5
    wait_until(lambda: reporter.stats()["retried"] >= 1)  # the sender found the monitor down
    stats = reporter.stats()
    assert stats["pending"] == 200

    started = time.monotonic()
    assert reporter.close(timeout=0.3) is False
    assert time.monotonic() - started < 1.0
    stats = reporter.stats()
    assert (stats["sent"], stats["dropped"], stats["pending"]) == (0, 200, 0)


def test_it_does_not_wait_for_a_monitor_that_never_answers(hanging_url: str) -> None:
    reporter = Reporter(hanging_url, "rmi_x", flush_interval=0.05, timeout=30)
    started = time.monotonic()
    for _ in range(100):
        reporter.record_call("charge_card", 12.5)
    time.sleep(0.2)  # the sender is now stuck waiting for an answer
    for _ in range(100):
        reporter.record_call("charge_card", 12.5)
    assert time.monotonic() - started < 0.5
    assert reporter.flush(timeout=0.2) is False

    assert reporter.close(timeout=0.2) is False
    assert reporter.stats()["dropped"] == 200


def test_it_holds_its_buffer_bound_and_drops_the_newest() -> None:
    reporter = Reporter(
        f"http://127.0.0.1:{free_port()}", "rmi_x", flush_interval=60, max_batch=50, max_buffer=100, base_backoff=60
    )
    for n in range(1000):
        reporter.record_queue("email_queue", depth=n)
    stats = reporter.stats()
    # At most one batch in flight plus a full buffer; everything else counted as dropped.
    assert stats["pending"] <= 150
    assert stats["pending"] + stats["dropped"] == 1000
    assert stats["sent"] == 0
    reporter.close(timeout=0.1)
    assert reporter.stats()["dropped"] == 1000


def test_a_forked_child_sends_only_its_own_items() -> None:
    reporter = Reporter(f"http://127.0.0.1:{free_port()}", "rmi_x", flush_interval=60)
    for _ in range(5):
        reporter.record_call("charge_card", 1.0)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report what it sees, then leave without cleanup
        reporter.record_call("charge_card", 2.0)
        os.write(write_end, json.dumps(reporter.stats()).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = json.loads(os.read(read_end, 1000))
    assert (child["pending"], child["dropped"]) == (1, 0)
    assert reporter.stats()["pending"] == 5
    reporter.close(timeout=0.1)
