"""PostgreSQL's group writer (MONITOR_GROUP_COMMIT, on by default in the servers): a process's
steady batches written by one thread, a group's claims and merged rows in one statement and
one commit, each request answered after that commit with its own answer.

These run the real writer thread against the test's PostgreSQL; each request is posted from
a thread of its own, as the server's requests are. The writer is held busy while the
batches queue up, so they are written as one group when it lets go.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.http import HttpResponse
from django.test import Client
from pytest_django import Settings

from monitoring import writers
from monitoring.group_writers import PostgresGroupWriter, SteadyWrites
from monitoring.models import CallBucket, ErrorMinute, Function, IngestBatch
from monitoring.store import Remembered
from tests.conftest import TEST_DB, Reporter, call, stored_calls
from tests.group_writing import (
    assert_each_accepted_after_its_commit,
    held_until_queued,
    post_all,
    post_and_look,
    varied_batch,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(TEST_DB != "postgres", reason="PostgreSQL's group writer (TEST_DB=postgres)"),
]

HOLD = object()  # a piece that keeps the writer busy until released


@pytest.fixture
def grouped(monkeypatch: pytest.MonkeyPatch) -> Iterator[PostgresGroupWriter]:
    """The group writer as the process's writer (its thread starts with the first batch),
    noting the keys of each group it wrote together, in the group's order."""
    before = writers.chosen[:]
    writer = PostgresGroupWriter()
    writer.written_together: list[list[str]] = []  # type: ignore[misc]
    together = writer.write_together

    def counted(batches: list) -> bool:
        writer.written_together.append([batch.key for batch in batches])  # type: ignore[attr-defined]
        return together(batches)

    monkeypatch.setattr(writer, "write_together", counted)
    writers.chosen[:] = [writer]
    yield writer
    writer.group.stop()
    writers.chosen[:] = before
    Remembered.rows.clear()


@contextmanager
def writer_held(group: SteadyWrites, queued: int) -> Iterator[None]:
    """The writer kept busy until `queued` batches wait in its queue (and the block ends)."""
    started, release = threading.Event(), threading.Event()
    commit = group.commit

    def held(pieces: list) -> None:
        if pieces[0].work is HOLD:
            started.set()
            release.wait(20)
            return
        commit(pieces)

    group.commit = held  # type: ignore[method-assign]
    group.start_once_here()
    with held_until_queued(group, HOLD, started, release, queued):
        yield


def posted_while_held(grouped: PostgresGroupWriter, token: str, batches: list[dict]) -> list[tuple[HttpResponse, bool]]:
    with ThreadPoolExecutor(max_workers=1) as waiter, writer_held(grouped.group, queued=len(batches)):
        answers = waiter.submit(post_all, token, batches)
    return answers.result(timeout=30)


def warmed(token: str, *functions: str, error_types: tuple[str, ...] = ()) -> dict:
    """A first batch naming the functions (and their error types): it takes the general path,
    after which this process's batches of them are steady ones (the group writer's)."""
    ts = datetime.now(UTC).isoformat()
    calls = [call(name, ts=ts) for name in functions]
    calls += [call(name, "failure", error_type=kind, ts=ts) for name in functions for kind in error_types]
    # An error without its type is counted under its outcome's name.
    calls += [call(name, outcome, ts=ts) for name in functions for outcome in ("failure", "timeout", "rejected")]
    batch = {"batch_id": "warm", "calls": calls}
    response, stored = post_and_look(token, batch)
    assert response.status_code == 202 and stored
    return batch


def test_steady_batches_posted_at_once_are_written_together_each_answered_after_the_commit(
    grouped: PostgresGroupWriter, token: str
) -> None:
    warmed(token, "charge", "refund")
    batches = [
        {"batch_id": f"b-{n}", "calls": [call(("charge", "refund")[n % 2]) for _ in range(n + 1)]} for n in range(12)
    ]
    results = posted_while_held(grouped, token, batches)
    assert_each_accepted_after_its_commit(results)
    assert [len(keys) for keys in grouped.written_together] == [12]  # type: ignore[attr-defined]
    assert stored_calls(function__name="charge").success == 1 + sum(n + 1 for n in range(0, 12, 2))
    assert stored_calls(function__name="refund").success == 1 + sum(n + 1 for n in range(1, 12, 2))


def stored_rows() -> dict[str, list[tuple]]:
    """Every row the calls upsert writes, by function name (ids differ between runs)."""
    buckets = CallBucket.objects.values_list(
        "function__name", "minute", *CallBucket.COUNTED, "latency_max_ms", "histogram", "outcomes"
    )
    errors = ErrorMinute.objects.values_list(
        "error_type__function__name", "error_type__name", "minute", "count", "first_seen", "last_seen"
    )
    return {"buckets": sorted(buckets), "errors": sorted(errors)}


def test_a_group_stores_what_its_batches_store_one_by_one(
    grouped: PostgresGroupWriter, token: str, settings: Settings
) -> None:
    # The group's rows are merged into one row per function and minute before they are
    # written: sums, maxima, histograms, each row's newest outcomes and the errors must be
    # those of the batches written one after another (strips past their length included).
    settings.MONITOR_BUCKET_SHARDS = 1  # one row a function and minute, whichever way it was written
    # The calls span 74 s, so always two minutes or three; none late, none due to move last_seen.
    start = datetime.now(UTC) - timedelta(seconds=50)
    warm = warmed(token, "fn-0", "fn-1", "fn-2", error_types=("E0", "E1"))

    batches = [varied_batch(n, start, step_s=6) for n in range(12)]
    assert all(response.status_code == 202 for response, _ in posted_while_held(grouped, token, batches))
    [order] = grouped.written_together  # type: ignore[attr-defined]
    assert sorted(order) == sorted(batch["batch_id"] for batch in batches)
    grouped_rows = stored_rows()
    assert len(grouped_rows["buckets"]) > 3 and grouped_rows["errors"]
    for model in (CallBucket, ErrorMinute, IngestBatch):
        model.objects.all().delete()
    writers.chosen[:] = [writers.PostgresWriter()]
    reporter = Reporter(Client(), token)
    for one in [warm, *(batches[int(key.removeprefix("b-"))] for key in order)]:
        assert reporter.post(one).status_code == 202
    assert stored_rows() == grouped_rows


def test_concurrent_replays_in_one_group_count_once(grouped: PostgresGroupWriter, token: str) -> None:
    warmed(token, "charge")
    batch = {"batch_id": "same", "calls": [call() for _ in range(5)]}
    results = posted_while_held(grouped, token, [batch] * 10)
    statuses = sorted(response.status_code for response, _ in results)
    assert statuses == [200] * 9 + [202]
    assert all(stored for _, stored in results)
    assert all(response.json()["accepted"]["calls"] == 5 for response, _ in results)
    assert stored_calls().success == 1 + 5


def test_a_replay_of_a_stored_batch_leaves_the_rest_of_its_group_stored(
    grouped: PostgresGroupWriter, token: str
) -> None:
    warmed(token, "charge", "refund")
    first = {"batch_id": "first", "calls": [call("charge"), call("charge")]}
    assert post_and_look(token, first)[0].status_code == 202
    batches = [first, {"batch_id": "new-1", "calls": [call("refund")]}, {"batch_id": "new-2", "calls": [call()]}]
    results = posted_while_held(grouped, token, batches)
    assert [response.status_code for response, _ in results] == [200, 202, 202]
    assert results[0][0].json()["duplicate"] is True
    assert stored_calls(function__name="charge").success == 1 + 2 + 1
    assert stored_calls(function__name="refund").success == 1 + 1
    assert IngestBatch.objects.count() == 4


def test_a_function_deleted_meanwhile_sinks_no_other_batch_of_the_group(
    grouped: PostgresGroupWriter, token: str
) -> None:
    # Its foreign key fails the group's commit: the writer writes the batches one by one; the
    # stale one fails, its request looks its names up afresh and stores it again.
    warmed(token, "charge", "refund")
    Function.objects.filter(name="charge").delete()
    batches = [{"batch_id": "b-1", "calls": [call("charge")]}, {"batch_id": "b-2", "calls": [call("refund")]}]
    results = posted_while_held(grouped, token, batches)
    assert [(response.status_code, stored) for response, stored in results] == [(202, True)] * 2
    assert stored_calls(function__name="charge").success == 1
    assert stored_calls(function__name="refund").success == 2


def test_a_database_that_cannot_take_the_group_answers_each_batch_503_and_stores_none(
    grouped: PostgresGroupWriter, token: str
) -> None:
    warmed(token, "charge")
    batches = [{"batch_id": f"b-{n}", "calls": [call()]} for n in range(4)]
    # The claims' table locked past the connection's lock_timeout (5 s in the tests).
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {IngestBatch._meta.db_table} IN EXCLUSIVE MODE")
        results = posted_while_held(grouped, token, batches)
    assert [response.status_code for response, _ in results] == [503] * 4
    assert all(response["Retry-After"] for response, _ in results)
    assert not IngestBatch.objects.filter(key__startswith="b-").exists()
    assert stored_calls().success == 1
    # Sent again, each is stored once.
    assert [post_and_look(token, batch)[0].status_code for batch in batches] == [202] * 4
    assert stored_calls().success == 1 + 4
