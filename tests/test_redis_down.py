"""When Redis stops, ingest, pages and the dashboard socket go on without it, and say so in the log."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from asgiref.sync import async_to_sync
from django.test import Client
from pytest_django import Settings

from monitoring.models import Breaker
from resilience_site.live import publisher
from resilience_site.settings import shared_through_redis
from tests.browser import PASSWORD, make_user
from tests.celery_worker import switch_app
from tests.conftest import Reporter, call, now_iso, stored_calls
from tests.servers import Redis, redis_process
from tests.test_alert_end_to_end import wait_until
from tests.test_consumer import ORIGIN, communicator

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def redis(settings: Settings) -> Iterator[Redis]:
    """The site configured as in production: cache, sessions, channel layer and broker on one Redis."""
    from resilience_site.celery import app

    with redis_process() as server:
        settings.REDIS_URL = server.url
        settings.CACHES, settings.SESSION_ENGINE, settings.CHANNEL_LAYERS = shared_through_redis(server.url)
        old = (app.conf.broker_url, app.conf.task_always_eager)  # before the settings change (read lazily)
        settings.CELERY_TASK_ALWAYS_EAGER = False
        switch_app(server.url, eager=False)
        try:
            yield server
        finally:
            # The live publisher reads the database ~0.25 s after a batch; emptying it meanwhile can deadlock.
            assert publisher.settle(timeout=10)
            switch_app(*old)


@pytest.fixture
def viewer(client: Client, redis: Redis) -> Client:
    make_user("viewer")
    assert client.post("/login/", {"username": "viewer", "password": PASSWORD}).status_code == 302
    return client


def test_ingest_goes_on_and_warns_once(redis: Redis, reporter: Reporter, caplog: pytest.LogCaptureFixture) -> None:
    assert reporter.post({"calls": [call("charge")]}).status_code == 202
    redis.stop()
    with caplog.at_level(logging.WARNING):
        answers = [reporter.post({"calls": [call("charge")]}) for _ in range(3)]
        # The live publisher's thread tries to send the deltas, and says it could not.
        wait_until(lambda: any("deltas are dropped" in r.getMessage() for r in caplog.records))
    assert [answer.status_code for answer in answers] == [202, 202, 202]
    assert stored_calls().success == 4
    warnings = [r.getMessage() for r in caplog.records if "rate limit" in r.getMessage()]
    assert len(warnings) == 1
    assert "not enforced" in warnings[0]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_breaker_that_opens_is_stored_when_the_broker_is_down(redis: Redis, reporter: Reporter) -> None:
    redis.stop()
    r = reporter.post({"instance": "pod-1", "breakers": [{"function": "charge", "state": "open", "ts": now_iso()}]})
    assert r.status_code == 202, r.content
    assert Breaker.objects.get().state == "open"


def test_pages_and_the_read_api_are_served_from_the_database(redis: Redis, viewer: Client, reporter: Reporter) -> None:
    assert reporter.post({"calls": [call("charge")]}).status_code == 202
    redis.stop()
    page = viewer.get("/functions/")
    assert page.status_code == 200
    assert b"charge" in page.content
    shared = viewer.get("/api/v1/functions?max_age=2")
    assert shared.status_code == 200
    assert [row["name"] for row in shared.json()["items"]] == ["charge"]


def test_logging_out_and_in_works_while_redis_is_down(
    redis: Redis, viewer: Client, caplog: pytest.LogCaptureFixture
) -> None:
    redis.stop()
    assert viewer.post("/logout/").status_code == 302
    assert viewer.get("/functions/")["Location"] == "/login/?next=/functions/"
    assert viewer.post("/login/", {"username": "viewer", "password": "guess"}).status_code == 200
    assert viewer.post("/login/", {"username": "viewer", "password": PASSWORD}).status_code == 302
    assert viewer.get("/functions/").status_code == 200
    assert any("failed logins and tokens are not limited" in r.getMessage() for r in caplog.records)


def test_the_dashboard_socket_tells_the_page_to_poll(redis: Redis, viewer: Client) -> None:
    cookie = (b"cookie", f"sessionid={viewer.cookies['sessionid'].value}".encode())
    redis.stop()

    async def scenario() -> tuple[bool, int | None]:
        socket = communicator(cookie, ORIGIN)
        connected, code = await socket.connect(timeout=10)
        await socket.disconnect()
        return connected, code

    assert async_to_sync(scenario)() == (False, 4503)
