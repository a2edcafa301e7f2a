"""A steady reporter's batches (calls only, every name known to the process, no last_seen
due) are claimed and written in one statement on PostgreSQL: what is stored, answered and
refused is the same as on the general path."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from monitoring.models import ErrorMinute, Function
from monitoring.outcomes import recent_outcomes
from monitoring.writers import writer
from tests.conftest import Reporter, call, stored_calls

pytestmark = pytest.mark.django_db(transaction=True)  # the names are remembered on commit


@pytest.fixture
def one_statement(reporter: Reporter, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """What each one-statement write answered (True: claimed and written), once the names are known."""
    if connection.vendor != "postgresql":
        pytest.skip("the one-statement path is PostgreSQL's (TEST_DB=postgres)")
    first = {"calls": [call("charge"), call("charge", "timeout"), call("refund", "failure", error_type="Timeout")]}
    assert reporter.post(first).status_code == 202  # the general path: names created, remembered
    answers: list[bool] = []
    write = type(writer()).claim_and_write_calls

    def spy(*args: object) -> bool:
        answers.append(write(*args))
        return answers[-1]

    monkeypatch.setattr(type(writer()), "claim_and_write_calls", spy)
    return answers


def test_a_steady_batch_is_stored_like_any_other(reporter: Reporter, one_statement: list[bool]) -> None:
    batch = {"calls": [call("charge"), call("charge", "timeout"), call("refund", "failure", error_type="Timeout")]}
    r = reporter.post(batch)
    assert (r.status_code, r.json()) == (
        202,
        {"accepted": {"calls": 3, "breakers": 0, "concurrency": 0, "queues": 0}, "duplicate": False},
    )
    assert one_statement == [True]
    charge, refund = stored_calls(function__name="charge"), stored_calls(function__name="refund")
    assert (charge.success, charge.timeout, refund.failure) == (2, 2, 2)
    assert sum(row.count for row in ErrorMinute.objects.filter(error_type__name="Timeout")) == 2
    charge_id = Function.objects.get(name="charge").id
    # each outcome of charge is among its last ones, written by the same statement as its counts
    assert recent_outcomes([charge_id])[charge_id] == ["success", "timeout", "success", "timeout"]


def test_a_steady_replay_counts_nothing_and_a_reused_key_is_refused(
    reporter: Reporter, one_statement: list[bool]
) -> None:
    batch = {"batch_id": "b-7", "calls": [call("charge"), call("refund", "failure", error_type="Timeout")]}
    assert reporter.post(batch).status_code == 202
    r = reporter.post(batch)
    assert (r.status_code, r.json()["duplicate"]) == (200, True)
    r = reporter.post({"batch_id": "b-7", "calls": [call("charge", "timeout")]})
    assert (r.status_code, r.json()["field"]) == (409, "batch_id")
    assert one_statement == [True, False, False]  # the replays wrote nothing, then took the general path
    assert stored_calls().calls == 5
    assert sum(row.count for row in ErrorMinute.objects.filter(error_type__name="Timeout")) == 2


def test_steady_replays_sent_at_once_count_once(reporter: Reporter, one_statement: list[bool]) -> None:
    batch = {"batch_id": "b-8", "calls": [call("charge", "timeout" if i % 3 else "success") for i in range(30)]}

    def send(_: int) -> int:
        return Reporter(Client(), reporter.token).post(batch).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(send, range(16)))
    assert statuses == [200] * 15 + [202]
    assert one_statement.count(True) == 1
    charge = stored_calls(function__name="charge")
    assert (charge.success, charge.timeout) == (1 + 10, 1 + 20)  # the first batch's, then this one once


def steady() -> dict:
    """A batch of names the fixture made known, dated now (a batch dated minutes ago is late)."""
    return {"calls": [call("charge"), call("refund", "failure", error_type="Timeout")]}


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_the_steady_statement_is_prepared_once_per_connection(
    reporter: Reporter, one_statement: list[bool], settings: object
) -> None:
    connection.close()  # a new connection: none of its statements is prepared yet
    for _ in range(3):
        assert reporter.post(steady()).status_code == 202
    assert one_statement == [True] * 3
    assert stored_calls().calls == 3 + 6
    prepared = [statement for statement in prepared_statements() if "WITH claim AS" in statement]
    assert len(prepared) == 1  # parsed and planned once, run three times


def test_behind_a_pooler_nothing_is_prepared(reporter: Reporter, one_statement: list[bool], settings: object) -> None:
    settings.MONITOR_INGEST_PREPARED = False
    connection.close()
    for _ in range(3):
        assert reporter.post(steady()).status_code == 202
    assert one_statement == [True] * 3
    assert stored_calls().calls == 3 + 6
    assert not [statement for statement in prepared_statements() if "WITH claim AS" in statement]
