"""Shared fixtures. TEST_DB=postgres runs the whole suite on a throwaway PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timezone

import orjson
import pytest
from django.test import Client

from monitoring.models import IngestToken, Service
from tests.servers import postgres_server

TEST_DB = os.environ.get("TEST_DB", "sqlite")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> Iterator[None]:
    if TEST_DB != "postgres":
        yield
        return
    from django.conf import settings
    from django.db import connections

    from resilience_site.env import database_from_url

    with postgres_server() as server:
        default = settings.DATABASES["default"]
        default.update(database_from_url(server.url()))
        default["OPTIONS"]["options"] = "-c lock_timeout=5000"
        default["CONN_MAX_AGE"] = 0
        if "default" in connections:
            del connections["default"]
        yield


@pytest.fixture
def service(db: None) -> Service:
    return Service.objects.create(name="payments")


@pytest.fixture
def token(service: Service) -> str:
    _, raw = IngestToken.issue(service=service)
    return raw


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


def call(function: str = "charge", outcome: str = "success", duration_ms: float = 10.0, **extra) -> dict:  # noqa: ANN003
    return {"function": function, "ts": now_iso(), "duration_ms": duration_ms, "outcome": outcome, **extra}


class Reporter:
    """Posts batches to the ingest API the way a service would."""

    def __init__(self, client: Client, token: str) -> None:
        self.client = client
        self.token = token

    def post(self, batch: dict | bytes, **headers: str):  # noqa: ANN201
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
