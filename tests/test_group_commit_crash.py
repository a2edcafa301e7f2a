"""A server stopped while reporters post to it: on SQLite the embedded server (`manage.py up`,
its group writer), on PostgreSQL gunicorn as deployment.md runs it (`--preload`, two
workers, each with its own group writer thread).

Killed with SIGKILL between accepting batches and committing them, it must not have
acknowledged anything it did not store; the reporters retry what got no answer, and in the
end every batch is stored exactly once. Stopped with SIGTERM, it answers what it took in
and commits it before it exits.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from monitoring.models import IngestBatch
from tests.conftest import ROOT, TEST_DB, call, stored_calls
from tests.servers import free_port, stop, wait_for_port

pytestmark = pytest.mark.django_db(transaction=True)

CALLS = 20  # per batch
CLIENTS = 6


def server_command(port: int) -> list[str]:
    if TEST_DB != "postgres":
        return [sys.executable, "manage.py", "up", "--port", str(port), "--no-scheduler", "--no-demo"]
    command = ["gunicorn", "resilience_site.wsgi:application", "--preload", "--no-control-socket", "-k", "gthread"]
    return [sys.executable, "-m", *command, "-w", "2", "--threads", "4", "-b", f"127.0.0.1:{port}"]


@contextmanager
def server(env: dict[str, str], port: int) -> Iterator[subprocess.Popen]:
    """The server in a session of its own: killing its process group kills all its processes."""
    process = subprocess.Popen(server_command(port), cwd=ROOT, env=env, start_new_session=True)
    try:
        wait_for_port(port, process, timeout=30)
        yield process
    finally:
        if process.poll() is None:
            stop(process)


@dataclass
class Reporters:
    """Clients posting numbered batches until told to stop or the server goes away."""

    url: str
    token: str
    acknowledged: set[str] = field(default_factory=set)
    unanswered: set[str] = field(default_factory=set)  # sent, but no answer came back
    bodies: dict[str, bytes] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)

    def send(self, batch_id: str) -> int | None:
        """Posts the batch (the same bytes when it is sent again); its status, None for no answer."""
        if batch_id not in self.bodies:
            calls = [call(f"fn-{n % 5}") for n in range(CALLS)]
            self.bodies[batch_id] = json.dumps({"batch_id": batch_id, "calls": calls}).encode()
        body = self.bodies[batch_id]
        request = urllib.request.Request(
            f"{self.url}/api/v1/ingest",
            data=body,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:  # refused, reset or cut off: no answer
            return None

    def report(self, client: int) -> None:
        n = 0
        while not self.stopping.is_set():
            batch_id = f"c{client}-{n}"
            n += 1
            status = self.send(batch_id)
            with self.lock:
                if status in (200, 202):
                    self.acknowledged.add(batch_id)
                else:
                    self.unanswered.add(batch_id)
            if status is None:
                return  # the server is gone

    @contextmanager
    def running(self) -> Iterator[None]:
        threads = [threading.Thread(target=self.report, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        try:
            yield
        finally:
            self.stopping.set()
            for thread in threads:
                thread.join(60)

    def wait_for_acknowledged(self, count: int) -> None:
        deadline = time.monotonic() + 30
        while len(self.acknowledged) < count:
            assert time.monotonic() < deadline, f"only {len(self.acknowledged)} batches acknowledged"
            time.sleep(0.05)


def stored_keys() -> set[str]:
    return set(IngestBatch.objects.values_list("key", flat=True))


def test_a_killed_server_lost_nothing_it_acknowledged_and_retries_count_once(
    subprocess_env: dict[str, str], token: str
) -> None:
    port = free_port()
    reporters = Reporters(f"http://127.0.0.1:{port}", token)
    with server(subprocess_env, port) as process, reporters.running():
        reporters.wait_for_acknowledged(30)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    assert reporters.unanswered, "the kill caught no batch in flight"
    stored = stored_keys()
    assert reporters.acknowledged <= stored  # nothing acknowledged is lost
    assert stored <= reporters.acknowledged | reporters.unanswered
    assert stored_calls().calls == CALLS * len(stored)  # each stored batch counted once

    # The reporters send again what got no answer, under the same batch_id.
    with server(subprocess_env, port):
        retry = Reporters(f"http://127.0.0.1:{port}", token, bodies=reporters.bodies)
        statuses = {batch_id: retry.send(batch_id) for batch_id in sorted(reporters.unanswered)}
    assert set(statuses.values()) <= {200, 202}, statuses
    duplicates = {batch_id for batch_id, status in statuses.items() if status == 200}
    assert duplicates == reporters.unanswered & stored  # committed before the kill, unanswered
    assert stored_keys() == reporters.acknowledged | reporters.unanswered
    assert stored_calls().calls == CALLS * len(reporters.acknowledged | reporters.unanswered)


def test_a_stopped_server_commits_and_answers_what_it_took_in(subprocess_env: dict[str, str], token: str) -> None:
    port = free_port()
    reporters = Reporters(f"http://127.0.0.1:{port}", token)
    with server(subprocess_env, port) as process, reporters.running():
        reporters.wait_for_acknowledged(30)
        process.send_signal(signal.SIGTERM)
        # The server answers the requests under way, then ends (uvicorn by the signal it was sent).
        assert process.wait(20) in (0, -signal.SIGTERM)
    stored = stored_keys()
    assert reporters.acknowledged <= stored
    # A batch the server took in is answered before it exits; only the ones it refused to
    # take once stopping (connections refused or closed unread) went unanswered, and stay unstored.
    assert stored == reporters.acknowledged
    assert stored_calls().calls == CALLS * len(stored)
