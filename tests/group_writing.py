"""Helpers shared by the group writers' tests (test_group_commit.py on SQLite,
test_group_commit_pg.py on PostgreSQL)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.db import connection
from django.http import HttpResponse
from django.test import Client

from monitoring.group_commit import OneWriter
from monitoring.models import IngestBatch
from tests.conftest import Reporter, call


def post_and_look(token: str, batch: dict) -> tuple[HttpResponse, bool]:
    """Posts from this thread; the answer, and whether this thread's own connection then
    sees the batch stored (it can only if the batch's transaction has committed)."""
    try:
        response = Reporter(Client(), token).post(batch)
        stored = IngestBatch.objects.filter(key=batch["batch_id"]).exists()
        return response, stored
    finally:
        connection.close()


def post_all(token: str, batches: list[dict]) -> list[tuple[HttpResponse, bool]]:
    """post_and_look for each batch, each from a thread of its own, all at once."""
    with ThreadPoolExecutor(max_workers=len(batches)) as pool:
        return list(pool.map(lambda batch: post_and_look(token, batch), batches))


@contextmanager
def held_until_queued(
    group: OneWriter, hold: object, started: threading.Event, release: threading.Event, queued: int
) -> Iterator[None]:
    """The writer kept busy by the piece `hold` (which sets `started`, then waits for
    `release`) until `queued` pieces wait in its queue and the block ends."""
    holder = threading.Thread(target=group.submit, args=(hold,))
    holder.start()
    assert started.wait(5)
    try:
        yield
        wait_until_queued(group.queue, queued)
    finally:
        release.set()
        holder.join(10)


def wait_until_queued(waiting: queue.Queue, queued: int) -> None:
    """Until `queued` pieces wait in the writer's queue (10 s at most), then check that many do."""
    deadline = time.monotonic() + 10
    while waiting.qsize() < queued and time.monotonic() < deadline:
        time.sleep(0.01)
    assert waiting.qsize() == queued


def varied_batch(n: int, start: datetime, step_s: int) -> dict:
    """Batch b-n: 9 calls over 3 functions from start + n * step_s seconds on, of every
    outcome, latency, retry count and two error types, so that merged rows show every sum."""
    calls = [
        call(
            f"fn-{(n + k) % 3}",
            ts=(start + timedelta(seconds=step_s * n + k, milliseconds=n)).isoformat(),
            outcome=("success", "failure", "timeout", "rejected")[(n * k) % 4],
            duration_ms=3.0 + (n * 37 + k * 11) % 700,
            retries=k % 2,
            **({"error_type": f"E{k % 2}"} if (n * k) % 4 == 1 else {}),
        )
        for k in range(9)
    ]
    return {"batch_id": f"b-{n}", "calls": calls}


def assert_each_accepted_after_its_commit(results: list[tuple[HttpResponse, bool]]) -> None:
    """Batch b-n of n + 1 calls answered 202 with its own counts, and stored when answered."""
    for n, (response, stored) in enumerate(results):
        assert response.status_code == 202, response.content
        assert response.json() == {
            "accepted": {"calls": n + 1, "breakers": 0, "concurrency": 0, "queues": 0},
            "duplicate": False,
        }
        assert stored, f"b-{n} was answered before its transaction committed"
