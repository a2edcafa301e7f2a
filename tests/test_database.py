from __future__ import annotations

import os

from django.db import connection


def test_the_suite_runs_on_the_database_it_was_asked_for(db: None) -> None:
    """`make test` runs twice; the second run must really be on PostgreSQL."""
    expected = "postgresql" if os.environ.get("TEST_DB") == "postgres" else "sqlite"
    assert connection.vendor == expected
