"""Helpers shared by the group writers' tests (test_group_commit.py on SQLite,
test_group_commit_pg.py on PostgreSQL)."""

from __future__ import annotations

import queue
import time
from datetime import datetime, timedelta

from django.db import connection
from django.http import HttpResponse
from django.test import Client

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
