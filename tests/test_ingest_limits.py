"""Cardinality caps, and 503 when the database cannot take a batch."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from pytest_django import Settings

from monitoring.models import Breaker, BreakerFlip, CallBucket, Concurrency, Function
from queues.models import Queue
from tests.conftest import Reporter, call, now_iso, stored_calls


def test_a_service_cannot_exceed_its_function_cap(reporter: Reporter, settings: Settings) -> None:
    settings.MONITOR_MAX_FUNCTIONS_PER_SERVICE = 3
    assert reporter.post({"calls": [call("a"), call("b")]}).status_code == 202
    r = reporter.post({"calls": [call("a"), call("c"), call("d"), call("e")]})
    assert r.status_code == 422
    assert r.json()["field"] == "calls[2].function"
    assert "limit of 3 functions" in r.json()["detail"]
    assert sorted(Function.objects.values_list("name", flat=True)) == ["a", "b"]
    assert stored_calls(function__name="a").success == 1


def test_known_functions_still_report_at_the_cap(reporter: Reporter, settings: Settings) -> None:
    settings.MONITOR_MAX_FUNCTIONS_PER_SERVICE = 1
    assert reporter.post({"calls": [call("a")]}).status_code == 202
    assert reporter.post({"calls": [call("a")]}).status_code == 202
    assert reporter.post({"breakers": [{"function": "b", "state": "open", "ts": now_iso()}]}).status_code == 422


def test_queues_have_the_same_cap(reporter: Reporter, settings: Settings) -> None:
    settings.MONITOR_MAX_FUNCTIONS_PER_SERVICE = 1
    snap = {"ts": now_iso(), "depth": 1}
    r = reporter.post({"queues": [{"queue": "one", **snap}, {"queue": "two", **snap}]})
    assert r.status_code == 422
    assert r.json()["field"] == "queues[1].queue"
    assert not Queue.objects.exists()


def reports(state: str = "closed") -> dict:
    at = now_iso()
    return {
        "breakers": [{"function": "charge", "state": state, "ts": at}],
        "concurrency": [{"function": "charge", "active": 1, "limit": 10, "ts": at}],
    }


def test_a_function_cannot_exceed_its_instance_cap(reporter: Reporter, settings: Settings) -> None:
    settings.MONITOR_MAX_INSTANCES_PER_FUNCTION = 2
    assert reporter.post({"instance": "pod-1", **reports()}).status_code == 202
    assert reporter.post({"instance": "pod-2", **reports()}).status_code == 202
    for refused in (reports("open"), {"concurrency": reports()["concurrency"]}):
        r = reporter.post({"instance": "pod-3", "calls": [call("charge")], **refused})
        assert r.status_code == 422
        assert r.json()["field"] == "instance"
        assert "function charge has reached its limit of 2 instances" in r.json()["detail"]
    assert sorted(Breaker.objects.values_list("instance", flat=True)) == ["pod-1", "pod-2"]
    assert sorted(Concurrency.objects.values_list("instance", flat=True)) == ["pod-1", "pod-2"]
    assert not BreakerFlip.objects.filter(instance="pod-3").exists()
    assert stored_calls().success == 0


def test_known_instances_and_calls_from_new_ones_still_report_at_the_instance_cap(
    reporter: Reporter, settings: Settings
) -> None:
    settings.MONITOR_MAX_INSTANCES_PER_FUNCTION = 1
    assert reporter.post({"instance": "pod-1", **reports()}).status_code == 202
    assert reporter.post({"instance": "pod-1", **reports("open")}).status_code == 202
    assert reporter.post({"instance": "pod-2", "calls": [call("charge")]}).status_code == 202
    assert Breaker.objects.get().state == "open"


@pytest.mark.django_db(transaction=True)
def test_it_answers_503_with_retry_after_when_the_database_is_locked(reporter: Reporter, settings: Settings) -> None:
    """Another connection holds the write lock longer than we wait: 503, nothing half-stored."""
    holding, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        from django.db import connections

        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                if other.vendor == "postgresql":
                    cursor.execute("BEGIN")
                    cursor.execute(f"LOCK TABLE {Function._meta.db_table} IN ACCESS EXCLUSIVE MODE")
                else:
                    cursor.execute("BEGIN EXCLUSIVE")
                holding.set()
                release.wait(20)
                cursor.execute("ROLLBACK")
        finally:
            other.close()

    thread = threading.Thread(target=hold_lock)
    thread.start()
    assert holding.wait(10)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET lock_timeout = 300")
        else:
            connection.connection.execute("PRAGMA busy_timeout = 300")
    try:
        r = reporter.post({"calls": [call()]})
    finally:
        release.set()
        thread.join()
    assert r.status_code == 503
    assert r["Retry-After"] == "5"
    assert "retry" in r.json()["detail"]
    assert not CallBucket.objects.exists()
    assert reporter.post({"calls": [call()]}).status_code == 202


@pytest.mark.django_db(transaction=True)
def test_it_answers_503_when_a_minute_bucket_stays_locked(
    reporter: Reporter, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """The set-based upsert waits on a row another transaction holds: 503, nothing of the batch kept."""
    if connection.vendor != "postgresql":
        pytest.skip("the set-based upsert runs on PostgreSQL only (TEST_DB=postgres)")
    settings.MONITOR_BUCKET_SHARDS = 1
    assert reporter.post({"calls": [call("charge")]}).status_code == 202
    holding, release = threading.Event(), threading.Event()

    def hold_row() -> None:
        from django.db import connections

        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute(f"SELECT 1 FROM {CallBucket._meta.db_table} FOR UPDATE")
                holding.set()
                release.wait(20)
                cursor.execute("ROLLBACK")
        finally:
            other.close()

    thread = threading.Thread(target=hold_row)
    thread.start()
    assert holding.wait(10)
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = 300")
    batch = {"batch_id": "b-1", "instance": "pod-1", "calls": [call("charge")], **reports("open")}
    try:
        r = reporter.post(batch)
    finally:
        release.set()
        thread.join()
    assert r.status_code == 503
    assert r["Retry-After"] == "5"
    assert any("database unavailable for /api/v1/ingest" in record.getMessage() for record in caplog.records)
    assert not Breaker.objects.exists()
    assert not Concurrency.objects.exists()
    assert stored_calls().success == 1
    assert reporter.post(batch).status_code == 202  # the key was not used up
    assert stored_calls().success == 2
