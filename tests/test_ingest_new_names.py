"""A batch naming many new functions or queues costs the same few lookups as one naming a few."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from pytest_django import Settings

from monitoring.models import Function
from queues.models import Queue
from tests.conftest import Reporter, call, now_iso


def name_queries(reporter: Reporter, batch: dict, table: str, status: int) -> int:
    """Statements that look names up in table or insert into it while the batch is answered."""
    with CaptureQueriesContext(connection) as queries:
        response = reporter.post(batch)
    assert response.status_code == status, response.content
    return sum(1 for q in queries.captured_queries if table in q["sql"] and not q["sql"].startswith("UPDATE"))


def calls_named(prefix: str, count: int) -> dict:
    return {"calls": [call(f"{prefix}-{i}") for i in range(count)]}


def queues_named(prefix: str, count: int) -> dict:
    return {"queues": [{"queue": f"{prefix}-{i}", "ts": now_iso(), "depth": i} for i in range(count)]}


def test_it_creates_2000_new_functions_with_as_many_lookups_as_200(reporter: Reporter, settings: Settings) -> None:
    settings.MONITOR_MAX_FUNCTIONS_PER_SERVICE = 5000
    few = name_queries(reporter, calls_named("few", 200), Function._meta.db_table, 202)
    many = name_queries(reporter, calls_named("many", 2000), Function._meta.db_table, 202)
    assert many == few
    assert Function.objects.count() == 2200


def test_it_refuses_2000_new_functions_past_the_cap_with_as_many_lookups_as_200(
    reporter: Reporter, settings: Settings
) -> None:
    settings.MONITOR_MAX_FUNCTIONS_PER_SERVICE = 100
    table = Function._meta.db_table
    few = name_queries(reporter, calls_named("few", 200), table, 422)
    many = name_queries(reporter, calls_named("many", 2000), table, 422)
    assert many == few
    assert not Function.objects.exists()


def test_it_creates_2000_new_queues_with_as_many_lookups_as_200(reporter: Reporter, settings: Settings) -> None:
    settings.MONITOR_MAX_FUNCTIONS_PER_SERVICE = 5000
    few = name_queries(reporter, queues_named("few", 200), Queue._meta.db_table, 202)
    many = name_queries(reporter, queues_named("many", 2000), Queue._meta.db_table, 202)
    assert many == few
    assert Queue.objects.count() == 2200
