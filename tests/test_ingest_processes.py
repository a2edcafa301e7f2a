"""Ingest served the production way (the WSGI app under gunicorn, two separate processes):
a revoked or rotated-out token is refused by every process within a second, although each
process keeps the tokens it looked up; replays sent at once count a batch once."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import orjson
import pytest
from django.db import connection

from monitoring import service_changes
from monitoring.models import IngestToken, Service
from tests.conftest import ROOT, call, stored_calls
from tests.servers import free_port, stop, wait_for_port


@pytest.fixture
def two_processes(subprocess_env: dict[str, str]) -> Iterator[list[str]]:
    """Two gunicorn servers of one sync worker each: two processes, each with its own memory."""
    servers = []
    try:
        for _ in range(2):
            port = free_port()
            command = ["gunicorn", "resilience_site.wsgi:application", "-k", "sync", "-w", "1", "--threads", "4"]
            command += ["-b", f"127.0.0.1:{port}", "--log-level", "warning", "--no-control-socket"]
            process = subprocess.Popen([sys.executable, "-m", *command], cwd=ROOT, env=subprocess_env)
            servers.append((process, port))
        for process, port in servers:
            wait_for_port(port, process, timeout=30)
        yield [f"http://127.0.0.1:{port}" for _, port in servers]
    finally:
        for process, _ in servers:
            stop(process)


def post(base: str, token: str, batch: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{base}/api/v1/ingest",
        data=orjson.dumps(batch),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, orjson.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, orjson.loads(error.read())


def refused_after(bases: list[str], token: str, since: float) -> tuple[list[float], int]:
    """Seconds from `since` until each server was first asked with the token and refused it
    (asked every 50 ms), checking that it keeps refusing it; and the batches taken meanwhile.
    A request's start is what counts: on a busy machine the answer itself may take a while."""
    seconds, taken = [], 0
    for base in bases:
        while True:
            asked = time.monotonic()
            status = post(base, token, {"calls": [call()]})[0]
            if status == 401:
                break
            assert status == 202
            assert asked - since < 5, f"{base} still takes the token after 5 s"
            taken += 1
            time.sleep(0.05)
        seconds.append(asked - since)
        assert [post(base, token, {"calls": [call()]})[0] for _ in range(3)] == [401] * 3
    return seconds, taken


@pytest.fixture
def payments(transactional_db: None) -> Service:
    return Service.objects.create(name="payments")


def test_a_revoked_token_is_refused_by_every_process_within_a_second(
    two_processes: list[str], payments: Service
) -> None:
    token, raw = IngestToken.issue(service=payments)
    for base in two_processes:  # each process has looked the token up (and keeps it a while)
        for _ in range(3):
            assert post(base, raw, {"calls": [call()]})[0] == 202

    service_changes.revoke_token(None, token)  # committed: the test's database is shared
    revoked_at = time.monotonic()

    seconds, taken = refused_after(two_processes, raw, revoked_at)
    assert max(seconds) < 1.0
    assert stored_calls().calls == 6 + taken  # each batch answered 202 is stored, none refused is


def test_a_token_rotated_without_grace_is_refused_by_every_process_within_a_second(
    two_processes: list[str], payments: Service
) -> None:
    old, old_raw = IngestToken.issue(service=payments)
    for base in two_processes:
        assert post(base, old_raw, {"calls": [call()]})[0] == 202

    _, new_raw = service_changes.rotate_token(None, old, grace_minutes=0)
    rotated_at = time.monotonic()

    seconds, _ = refused_after(two_processes, old_raw, rotated_at)
    assert max(seconds) < 1.0
    assert [post(base, new_raw, {"calls": [call()]})[0] for base in two_processes] == [202, 202]


def test_replays_sent_at_once_to_both_processes_count_the_batch_once(
    two_processes: list[str], payments: Service
) -> None:
    _, raw = IngestToken.issue(service=payments)
    batch = {
        "batch_id": "deploy-42",
        "calls": [call(f"fn{i % 5}", "failure" if i % 4 else "success") for i in range(40)],
    }

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda i: post(two_processes[i % 2], raw, batch), range(32)))

    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] * 31 + [202]
    assert all(answer["accepted"]["calls"] == 40 for _, answer in answers)
    assert sum(answer["duplicate"] for _, answer in answers) == 31
    stored = stored_calls()
    assert (stored.calls, stored.success) == (40, 10)


def test_a_connection_cut_between_batches_costs_one_503_and_nothing_stored_twice(
    two_processes: list[str], payments: Service
) -> None:
    """The ingest path does not check its connection before each request (a round trip): each
    connection the database dropped fails one batch with a 503 (nothing of it stored), then is
    replaced; a client retrying its batch gets it stored once."""
    if connection.vendor != "postgresql":
        pytest.skip("a server that drops connections is PostgreSQL's (TEST_DB=postgres)")
    _, raw = IngestToken.issue(service=payments)
    base = two_processes[0]
    assert post(base, raw, {"calls": [call()]})[0] == 202
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchone()[0] >= 1
    batch = {"batch_id": "after-the-cut", "calls": [call(), call()]}
    statuses = [post(base, raw, batch)[0] for _ in range(8)]  # the server has 4 threads, each its connection
    # Stored once; each dropped connection answered one 503 (whichever thread it was on).
    assert statuses.count(202) == 1 and statuses.count(503) <= 4
    assert statuses.count(200) == 8 - 1 - statuses.count(503)
    assert 503 not in [post(base, raw, batch)[0] for _ in range(8)]  # all replaced by now
    assert post(base, raw, {"calls": [call()]})[0] == 202
    assert stored_calls().calls == 4
