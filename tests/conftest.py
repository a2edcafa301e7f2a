"""Shared fixtures. TEST_DB=postgres runs the whole suite on a throwaway PostgreSQL.

The SQLite test database is a file, not memory, so that processes the tests start
(a live site, a Celery worker) can share it; such tests use django_db(transaction=True)
so what they write is committed and visible to those processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from django.http import HttpResponse
from django.test import Client

from monitoring.models import CallBucket, IngestToken, Service
from tests.servers import free_port, postgres_server, stop, wait_for_port

# Fixtures that live beside the helpers they use, shared with every test module. The
# receivers come before the worker, which imports them: pytest rewrites a plugin's asserts
# only if it loads the plugin first.
pytest_plugins = ["tests.alert_fixtures", "tests.browser", "tests.receivers", "tests.celery_worker"]

TEST_DB = os.environ.get("TEST_DB", "sqlite")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> Iterator[None]:
    from django.conf import settings
    from django.db import connections

    default = settings.DATABASES["default"]
    if TEST_DB != "postgres":
        with tempfile.TemporaryDirectory(prefix="monitor-test-") as folder:
            default.setdefault("TEST", {})["NAME"] = str(Path(folder) / "test.sqlite3")
            yield
        return

    from resilience_site.env import database_from_url

    with postgres_server() as server:
        default.update(database_from_url(server.url()))
        default["OPTIONS"]["options"] = "-c lock_timeout=5000"
        default["CONN_MAX_AGE"] = 0
        # Batches written by this process's requests, in their own transactions: a test's own
        # transaction sees them. The group writer has tests of its own (test_group_commit_pg.py);
        # the servers tests start as processes keep the default.
        settings.MONITOR_GROUP_COMMIT = False
        if "default" in connections:
            del connections["default"]
        yield


@pytest.fixture(autouse=True)
def forget_remembered_rows() -> Iterator[None]:
    """Rolled-back tests reuse ids on SQLite: no test may recall another test's function ids."""
    from monitoring.error_types import Registered
    from monitoring.models import WorkingTokens
    from monitoring.store import Remembered

    Remembered.rows.clear()
    Registered.ids.clear()
    WorkingTokens.forget()
    yield
    Remembered.rows.clear()
    Registered.ids.clear()
    WorkingTokens.forget()


@pytest.fixture(autouse=True)
def forget_outage_warnings() -> None:
    """A test that checks an outage is logged must not miss the line because another test logged it."""
    from monitoring import outages

    outages.forget()


@pytest.fixture
def subprocess_env(transactional_db: None) -> dict[str, str]:
    """Environment for a process that must use this test's database."""
    from django.db import connection

    from alerts import secrets

    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"DEMO": "0", "PYTHONPATH": str(ROOT), "MONITOR_VAR_DIR": tempfile.mkdtemp(prefix="monitor-var-")})
    # Channel secrets written here must read there, and back: the same keys in every process.
    env["MONITOR_SECRET_KEYS"] = ",".join(secrets.keys())
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        env.setdefault("SECRET_KEY", "test-only-secret-key-shared-by-the-processes-of-one-test")
    else:
        env["MONITOR_SQLITE_PATH"] = str(db["NAME"])
    return env


@pytest.fixture
def live_site(subprocess_env: dict[str, str]) -> Iterator[str]:
    """The real site (`manage.py up`, ASGI with websockets) on a free port; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "up", "--port", str(port), "--no-scheduler"],
        cwd=ROOT,
        env=subprocess_env,
    )
    try:
        wait_for_port(port, process, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


@pytest.fixture
def service(db: None) -> Service:
    return Service.objects.create(name="payments")


@pytest.fixture
def token(service: Service) -> str:
    _, raw = IngestToken.issue(service=service)
    return raw


def stored_calls(**filters: object) -> CallBucket:
    """All stored calls matching filters, added up over minutes and shards."""
    total = CallBucket()
    for bucket in CallBucket.objects.filter(**filters):
        total.add(bucket)
    return total


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def call(function: str = "charge", outcome: str = "success", duration_ms: float = 10.0, **extra: object) -> dict:
    return {"function": function, "ts": now_iso(), "duration_ms": duration_ms, "outcome": outcome, **extra}


class Reporter:
    """Posts batches to the ingest API the way a service would."""

    def __init__(self, client: Client, token: str) -> None:
        self.client = client
        self.token = token

    def post(self, batch: dict | bytes, **headers: str) -> HttpResponse:
        body = batch if isinstance(batch, bytes) else orjson.dumps(batch)
        return self.client.post(
            "/api/v1/ingest",
            body,
            content_type=headers.pop("content_type", "application/json"),
            headers={"Authorization": f"Bearer {self.token}", **headers},
        )


@pytest.fixture
def reporter(client: Client, token: str) -> Reporter:
    return Reporter(client, token)
