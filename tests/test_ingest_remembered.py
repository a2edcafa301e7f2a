"""A process remembers the ids of the functions and queues it stored; that memory never misfiles."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pytest_django import Settings

from monitoring.models import Function
from queues.models import Queue, Snapshot
from tests.conftest import Reporter, call, now_iso, stored_calls

pytestmark = pytest.mark.django_db(transaction=True)  # the memory is kept when a batch commits


def test_a_known_service_stores_its_next_batch_without_looking_its_functions_up(reporter: Reporter) -> None:
    reporter.post({"calls": [call("charge"), call("refund")]})
    with CaptureQueriesContext(connection) as queries:
        r = reporter.post({"calls": [call("charge"), call("refund", outcome="failure")]})
    assert r.status_code == 202
    assert not [q for q in queries.captured_queries if '"monitoring_function"."name"' in q["sql"]]
    assert (stored_calls(function__name="refund").success, stored_calls(function__name="refund").failure) == (1, 1)


def test_a_function_deleted_by_hand_is_created_again_and_nothing_is_lost(reporter: Reporter) -> None:
    reporter.post({"calls": [call("charge")]})
    Function.objects.filter(name="charge").delete()
    r = reporter.post({"calls": [call("charge", outcome="timeout")]})
    assert r.status_code == 202, r.content
    assert stored_calls(function__name="charge").timeout == 1


def test_a_queue_deleted_by_hand_is_created_again(reporter: Reporter) -> None:
    reporter.post({"queues": [{"queue": "email", "ts": now_iso(), "depth": 1}]})
    Queue.objects.all().delete()
    r = reporter.post({"queues": [{"queue": "email", "ts": now_iso(), "depth": 7}]})
    assert r.status_code == 202, r.content
    assert Snapshot.objects.get().depth == 7


def test_a_batch_that_fails_leaves_no_memory_of_the_functions_it_created(
    reporter: Reporter, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.MONITOR_MAX_FUNCTIONS_PER_SERVICE = 1
    r = reporter.post(
        {"calls": [call("charge")], "queues": [{"queue": "a", "ts": now_iso()}, {"queue": "b", "ts": now_iso()}]}
    )
    assert r.status_code == 422
    assert not Function.objects.exists()
    r = reporter.post({"calls": [call("charge")]})
    assert r.status_code == 202, r.content
    assert stored_calls(function__name="charge").success == 1
    assert "is gone" not in caplog.text  # stored at the first try: nothing stale was recalled
