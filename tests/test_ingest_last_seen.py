"""last_seen moves at most once a minute per function, and a batch never waits for another
batch that is moving it (once a minute every batch in flight used to queue on those rows)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from monitoring.models import Function
from tests.conftest import Reporter, call, stored_calls


def test_last_seen_moves_once_a_minute(reporter: Reporter) -> None:
    assert reporter.post({"calls": [call("charge")]}).status_code == 202
    first = Function.objects.get(name="charge").last_seen
    assert first is not None and timezone.now() - first < timedelta(seconds=5)
    assert reporter.post({"calls": [call("charge")]}).status_code == 202
    assert Function.objects.get(name="charge").last_seen == first
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert reporter.post({"calls": [call("charge")]}).status_code == 202
    assert Function.objects.get(name="charge").last_seen > first + timedelta(minutes=1)


@pytest.mark.django_db(transaction=True)
def test_a_batch_does_not_wait_for_another_moving_last_seen(reporter: Reporter) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers are PostgreSQL's (TEST_DB=postgres)")
    assert reporter.post({"calls": [call("charge")]}).status_code == 202
    function = Function.objects.get(name="charge")
    Function.objects.filter(id=function.id).update(last_seen=timezone.now() - timedelta(minutes=5))
    holding, release = threading.Event(), threading.Event()

    def hold_row() -> None:
        """Another batch in flight: it has moved last_seen and not committed yet."""
        from django.db import connections

        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute(f"UPDATE {Function._meta.db_table} SET last_seen = now() WHERE id = %s", [function.id])
                holding.set()
                release.wait(20)
                cursor.execute("COMMIT")
        finally:
            other.close()

    thread = threading.Thread(target=hold_row)
    thread.start()
    assert holding.wait(10)
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = 300")
    try:
        r = reporter.post({"calls": [call("charge")]})
    finally:
        release.set()
        thread.join()
    assert r.status_code == 202  # it used to wait for the row, then answer 503
    assert stored_calls().calls == 2
    assert timezone.now() - Function.objects.get(id=function.id).last_seen < timedelta(seconds=30)
