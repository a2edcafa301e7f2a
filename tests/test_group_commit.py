"""The embedded default's group writer: many requests' batches in one transaction, each
request answered after that transaction commits, with its own answer.

These run the real writer thread on the test's SQLite file; each request is posted from a
thread of its own, as the server's requests are. The writer is held busy (a piece of work
that waits) while the batches queue up, so they are committed together when it lets go.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, connections
from django.test import Client
from pytest_django import Settings

from monitoring import writers
from monitoring.group_commit import GroupCommit
from monitoring.group_writers import GroupCommitWriter
from monitoring.models import BreakerFlip, CallBucket, ErrorMinute, Function, IngestBatch, OutcomeStrip, Service
from monitoring.store import Remembered
from resilience_site import ingest, ingest_api
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
    pytest.mark.skipif(TEST_DB == "postgres", reason="the group writer is the embedded default's, on SQLite"),
]


@pytest.fixture
def start_writer() -> Iterator[Callable[..., GroupCommitWriter]]:
    """Starts a group writer (with the options given) as the process's writer, as `up` does."""
    before = writers.chosen[:]
    started: list[GroupCommitWriter] = []

    def start(**options: float) -> GroupCommitWriter:
        grouped = GroupCommitWriter(**options)
        grouped.group.start()
        writers.chosen[:] = [grouped]
        started.append(grouped)
        return grouped

    yield start
    for grouped in started:
        grouped.group.stop()
    writers.chosen[:] = before
    Remembered.rows.clear()


@pytest.fixture
def token(token: str) -> str:
    """The service's token, used once already: its first use writes its last_used from the
    request's thread, which would wait for the write lock the held writer keeps."""
    response = Client().post(
        "/api/v1/ingest/validate",
        {"calls": [call()]},
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    return token


@pytest.fixture
def grouped(start_writer: Callable[..., GroupCommitWriter]) -> GroupCommitWriter:
    return start_writer()


@contextmanager
def writer_held(group: GroupCommit, queued: int) -> Iterator[None]:
    """The writer kept busy until `queued` pieces wait in its queue (and the block ends)."""
    started, release = threading.Event(), threading.Event()

    def hold() -> None:
        started.set()
        release.wait(20)

    with held_until_queued(group, hold, started, release, queued):
        yield


def test_it_answers_each_batch_of_a_group_after_the_group_commits(grouped: GroupCommitWriter, token: str) -> None:
    batches = [
        {"batch_id": f"b-{n}", "calls": [call(f"fn-{n % 3}") for _ in range(n + 1)], "instance": "pod-1"}
        for n in range(12)
    ]
    with ThreadPoolExecutor(max_workers=1) as waiter, writer_held(grouped.group, queued=12):
        answers = waiter.submit(post_all, token, batches)
    results = answers.result(timeout=30)
    assert_each_accepted_after_its_commit(results)
    assert stored_calls().success == sum(range(1, 13))
    for n in range(3):
        assert stored_calls(function__name=f"fn-{n}").success == sum(k + 1 for k in range(12) if k % 3 == n)


def stored_rows() -> dict[str, list[tuple]]:
    """Every row the calls upserts write, by function name (ids differ between runs)."""
    buckets = CallBucket.objects.values_list(
        "function__name", "minute", *CallBucket.COUNTED, "latency_max_ms", "histogram"
    )
    errors = ErrorMinute.objects.values_list(
        "error_type__function__name", "error_type__name", "minute", "count", "first_seen", "last_seen"
    )
    return {
        "buckets": sorted(buckets),
        "strips": sorted(OutcomeStrip.objects.values_list("function__name", "entries")),
        "errors": sorted(errors),
    }


def test_a_group_stores_what_its_batches_store_one_by_one(grouped: GroupCommitWriter, token: str) -> None:
    # The group's rows are folded into one row per function and minute before they are
    # written: the sums, maxima, histograms, strips and errors must be those of the batches
    # written one after another (strips past their length included).
    start = datetime.now(UTC) - timedelta(minutes=3)

    batches = [varied_batch(n, start, step_s=7) for n in range(12)]
    with ThreadPoolExecutor(max_workers=1) as waiter, writer_held(grouped.group, queued=12):
        answers = waiter.submit(post_all, token, batches)
    assert all(response.status_code == 202 for response, _ in answers.result(timeout=30))
    taken = list(IngestBatch.objects.order_by("id").values_list("key", flat=True))
    order = [batches[int(key.removeprefix("b-"))] for key in taken]
    grouped_rows = stored_rows()
    assert len(grouped_rows["buckets"]) > 3 and grouped_rows["errors"]
    for model in (CallBucket, OutcomeStrip, ErrorMinute, IngestBatch):
        model.objects.all().delete()
    writers.chosen[:] = [writers.SqliteWriter()]
    reporter = Reporter(Client(), token)
    for one in order:
        assert reporter.post(one).status_code == 202
    assert stored_rows() == grouped_rows


def test_steady_batches_are_claimed_and_kept_for_the_group_without_the_general_path(
    grouped: GroupCommitWriter, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reporter = Reporter(Client(), token)
    first = {"batch_id": "first", "calls": [call("charge"), call("refund", "failure", error_type="Timeout")]}
    assert reporter.post(first).status_code == 202  # the general path: names created, remembered
    answers: list[bool] = []
    write = GroupCommitWriter.claim_and_write_calls

    def spy(*args: object) -> bool:
        answers.append(write(*args))
        return answers[-1]

    monkeypatch.setattr(GroupCommitWriter, "claim_and_write_calls", spy)
    batches = [
        {"batch_id": f"s-{n}", "calls": [call("charge"), call("refund", "failure", error_type="Timeout")]}
        for n in range(6)
    ]
    with ThreadPoolExecutor(max_workers=1) as waiter, writer_held(grouped.group, queued=8):
        answers_ = waiter.submit(post_all, token, [*batches, batches[0], {**batches[1], "calls": [call("charge")]}])
    statuses = [response.status_code for response, _ in answers_.result(timeout=30)]
    # Whichever copy the writer took first is stored: a replay in the same group counts once,
    # a key reused for other calls is refused.
    assert sorted([statuses[0], statuses[6]]) == [200, 202]
    assert sorted([statuses[1], statuses[7]]) == [202, 409]
    assert statuses[2:6] == [202] * 4
    assert all(stored for _, stored in answers_.result())
    assert answers.count(True) == 6 and answers.count(False) == 2  # the replay and the 409 took the general path
    failures = 1 + 5 + (statuses[1] == 202)  # the first batch, s-0 and s-2..s-5, s-1 unless its variant won
    charge, refund = stored_calls(function__name="charge"), stored_calls(function__name="refund")
    assert (charge.success, refund.failure) == (7, failures)
    assert sum(ErrorMinute.objects.values_list("count", flat=True)) == failures
    assert OutcomeStrip.objects.get(function__name="refund").entries.count("f") == failures


def test_concurrent_replays_in_one_group_count_once(grouped: GroupCommitWriter, token: str) -> None:
    batch = {"batch_id": "same", "calls": [call() for _ in range(5)]}
    with ThreadPoolExecutor(max_workers=1) as waiter, writer_held(grouped.group, queued=10):
        answers = waiter.submit(post_all, token, [batch] * 10)
    statuses = sorted(response.status_code for response, _ in answers.result(timeout=30))
    assert statuses == [200] * 9 + [202]
    assert all(stored for _, stored in answers.result())
    assert all(response.json()["accepted"]["calls"] == 5 for response, _ in answers.result())
    assert stored_calls().success == 5


def test_a_batch_refused_inside_a_group_does_not_lose_the_others(
    grouped: GroupCommitWriter, token: str, settings: Settings
) -> None:
    settings.MONITOR_MAX_FUNCTIONS_PER_SERVICE = 4
    batches = [
        {"batch_id": "good-1", "calls": [call("charge")]},
        {"batch_id": "key", "calls": [call("refund")]},  # one of these two is first with the key,
        {"batch_id": "key", "calls": [call("refund"), call("refund")]},  # the other is refused: 409
        {"batch_id": "over-cap", "calls": [call(f"new-{n}") for n in range(5)]},  # 422: too many functions
        {"batch_id": "good-2", "calls": [call("charge"), call("charge", outcome="failure")]},
    ]
    with ThreadPoolExecutor(max_workers=1) as waiter, writer_held(grouped.group, queued=5):
        answers = waiter.submit(post_all, token, batches)
    statuses = [response.status_code for response, _ in answers.result(timeout=30)]
    assert statuses[0] == statuses[4] == 202
    assert sorted(statuses[1:3]) == [202, 409]
    assert statuses[3] == 422
    field = answers.result()[3][0].json()["field"]  # the first item past the room left
    assert field.startswith("calls[") and field.endswith("].function")
    key_winner = 1 if statuses[1] == 202 else 2
    assert (stored_calls(function__name="charge").success, stored_calls(function__name="charge").failure) == (2, 1)
    assert stored_calls(function__name="refund").success == key_winner
    assert not Function.objects.filter(name__startswith="new-").exists()
    assert set(IngestBatch.objects.values_list("key", flat=True)) == {"good-1", "key", "good-2"}
    # What the process remembers was kept on commit, for the batches that committed only.
    remembered = {name for (_, _, name) in Remembered.rows}
    assert {"charge", "refund"} <= remembered
    assert not any(name.startswith("new-") for name in remembered)


def test_work_that_fails_midway_is_rolled_back_alone(grouped: GroupCommitWriter, service: Service, token: str) -> None:
    def fails_midway() -> None:
        Function.objects.create(service=service, name="half-written")
        raise ValueError("something went wrong after a write")

    with ThreadPoolExecutor(max_workers=2) as pool, writer_held(grouped.group, queued=2):
        failed = pool.submit(grouped.group.submit, fails_midway)
        answered = pool.submit(post_and_look, token, {"batch_id": "b-1", "calls": [call()]})
    with pytest.raises(ValueError, match="after a write"):
        failed.result(timeout=30)
    assert answered.result(timeout=30)[0].status_code == 202
    assert stored_calls().success == 1
    assert not Function.objects.filter(name="half-written").exists()


def test_a_group_that_fails_at_commit_is_committed_again_batch_by_batch(grouped: GroupCommitWriter, token: str) -> None:
    # A function deleted by hand while this process remembers its id: SQLite checks the
    # foreign key only at COMMIT, which sinks the whole group. The writer then commits each
    # batch alone; the stale one fails, its request looks its names up afresh and stores
    # it again, so every batch is still stored once.
    assert post_and_look(token, {"batch_id": "b-0", "calls": [call("charge"), call("refund")]})[0].status_code == 202
    Function.objects.filter(name="charge").delete()
    batches = [{"batch_id": "b-1", "calls": [call("charge")]}, {"batch_id": "b-2", "calls": [call("refund")]}]
    with ThreadPoolExecutor(max_workers=1) as waiter, writer_held(grouped.group, queued=2):
        answers = waiter.submit(post_all, token, batches)
    assert [(response.status_code, stored) for response, stored in answers.result(timeout=30)] == [(202, True)] * 2
    assert stored_calls(function__name="charge").success == 1
    assert stored_calls(function__name="refund").success == 2


def test_work_that_breaks_the_commit_fails_alone(grouped: GroupCommitWriter, token: str) -> None:
    def breaks_the_commit() -> None:
        Function.objects.create(service_id=10**9, name="orphan")  # no such service: refused at COMMIT

    with ThreadPoolExecutor(max_workers=2) as pool, writer_held(grouped.group, queued=2):
        failed = pool.submit(grouped.group.submit, breaks_the_commit)
        answered = pool.submit(post_and_look, token, {"batch_id": "b-1", "calls": [call()]})
    with pytest.raises(IntegrityError):
        failed.result(timeout=30)
    assert answered.result(timeout=30)[0].status_code == 202
    assert stored_calls().success == 1
    assert not Function.objects.filter(name="orphan").exists()


def test_after_commit_the_alert_hook_and_the_live_delta_still_run(
    grouped: GroupCommitWriter, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, object] = {}

    def hook(flips: list[BreakerFlip]) -> None:
        # Runs in the request's thread; its own connection sees the flip: it was committed.
        seen["flips"] = [(flip.new_state, BreakerFlip.objects.filter(id=flip.id).exists()) for flip in flips]

    monkeypatch.setattr(ingest, "breakers_flipped", hook)
    monkeypatch.setattr(ingest_api.live, "publish_ingest", lambda service_id, result: seen.update(live=result.status))
    batch = {"batch_id": "b-1", "breakers": [{"function": "charge", "state": "open", "ts": call()["ts"]}]}
    response, stored = post_and_look(token, batch)
    assert response.status_code == 202
    assert stored
    assert seen == {"flips": [("open", True)], "live": 202}


def test_a_batch_the_writer_cannot_take_in_time_is_refused_and_never_stored(
    start_writer: Callable[..., GroupCommitWriter], token: str
) -> None:
    grouped = start_writer(wait_s=0.3)
    with writer_held(grouped.group, queued=1):  # the refused batch waits there, never to be run
        started = time.monotonic()
        response, _ = post_and_look(token, {"batch_id": "late", "calls": [call()]})
        waited = time.monotonic() - started
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert 0.3 <= waited < 3
    grouped.group.submit(lambda: None)  # everything queued before this has been dealt with
    assert not IngestBatch.objects.exists()
    assert stored_calls().success == 0
    assert post_and_look(token, {"batch_id": "late", "calls": [call()]})[0].status_code == 202


def test_a_full_queue_answers_503_at_once(start_writer: Callable[..., GroupCommitWriter], token: str) -> None:
    grouped = start_writer(queue_size=1)
    with ThreadPoolExecutor(max_workers=1) as waiter, writer_held(grouped.group, queued=1):
        first = waiter.submit(post_and_look, token, {"batch_id": "first", "calls": [call()]})
        while grouped.group.queue.qsize() < 1:
            time.sleep(0.01)
        started = time.monotonic()
        refused, _ = post_and_look(token, {"batch_id": "second", "calls": [call()]})
        assert time.monotonic() - started < 1
    assert refused.status_code == 503
    assert "Retry-After" in refused
    assert first.result(timeout=30)[0].status_code == 202
    assert list(IngestBatch.objects.values_list("key", flat=True)) == ["first"]


def test_stopping_commits_what_is_queued_and_refuses_the_rest(grouped: GroupCommitWriter, token: str) -> None:
    batches = [{"batch_id": f"b-{n}", "calls": [call()]} for n in range(3)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        with writer_held(grouped.group, queued=4):  # the three batches, then the stop
            answers = pool.submit(post_all, token, batches)
            while grouped.group.queue.qsize() < 3:
                time.sleep(0.01)
            stopping = pool.submit(grouped.group.stop)
            time.sleep(0.1)
        stopping.result(timeout=30)
    assert [response.status_code for response, _ in answers.result(timeout=30)] == [202] * 3
    assert stored_calls().success == 3
    assert not grouped.group.thread.is_alive()
    assert post_and_look(token, {"batch_id": "after", "calls": [call()]})[0].status_code == 503
    connections.close_all()
