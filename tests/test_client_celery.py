"""Celery with a real Redis broker and a real worker (tests/client_celery_app.py), reporting to
the live site; what the API reads back is compared with what Celery did."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from celery import Celery, signals
from django.test import Client

from resilience_client import Reporter
from resilience_client.integrations.celery import PUBLISHED_AT, QueueMonitor, stamp_messages
from tests.monitor_api import MonitorApi, viewer_api
from tests.servers import free_port, stop
from tests.waiting import wait_until

pytestmark = pytest.mark.redis
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def api(client: Client, transactional_db: None) -> MonitorApi:
    return viewer_api(client)


@pytest.fixture(autouse=True)
def stamping() -> Iterator[None]:
    """stamp_messages() for this module's tests only: the site's own tasks go unstamped."""
    stamp_messages()
    yield
    signals.before_task_publish.disconnect(dispatch_uid="resilience_client.stamp")


def shop_app(broker_url: str) -> Celery:
    # Not the process's current app: the site's own tasks keep theirs.
    return Celery("shop-web", broker=broker_url, set_as_current=False)


@pytest.fixture
def publisher(redis_url: str) -> Iterator[Celery]:
    """The side that sends tasks (a web app, say): its own Celery app on the same broker."""
    app = shop_app(redis_url)
    app.conf.task_default_queue = "shop.orders"
    yield app
    app.close()


@contextmanager
def shop_worker(
    publisher: Celery, env: dict[str, str], queues: str, monitor_url: str | None = None, token: str | None = None
) -> Iterator[str]:
    """A prefork worker (one child) of the shop's app: tasks run in a forked process, as in production."""
    name = f"shop-{uuid.uuid4().hex[:8]}@localhost"
    env = {**env, "SHOP_BROKER_URL": publisher.conf.broker_url}
    if monitor_url and token:
        env.update(SHOP_MONITOR_URL=monitor_url, SHOP_MONITOR_TOKEN=token)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tests.client_celery_app",
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            "-Q",
            queues,
            "-n",
            name,
            "--without-gossip",
            "--without-mingle",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_until(lambda: process.poll() is None and publisher.control.ping(destination=[name], timeout=0.5), 30)
        yield name
    finally:
        stop(process)


@pytest.mark.django_db(transaction=True)
def test_each_task_run_is_a_call_with_its_outcome_and_the_retries_it_took(
    live_site: str, token: str, api: MonitorApi, publisher: Celery, subprocess_env: dict[str, str]
) -> None:
    with shop_worker(publisher, subprocess_env, "shop.orders", live_site, token):
        for n in range(1, 10):
            publisher.send_task("shop.charge", args=[n])
        publisher.send_task("shop.refund", args=[2])  # retried twice, then succeeds
        publisher.send_task("shop.export")  # retried once, then out of retries

        wait_until(lambda: api.totals("shop.charge")["calls"] == 9, 30, every=0.2)
        wait_until(lambda: api.totals("shop.refund")["calls"] == 3, 30, every=0.2)
        wait_until(lambda: api.totals("shop.export")["calls"] == 2, 30, every=0.2)

    charge = api.totals("shop.charge")
    assert (charge["success"], charge["failure"], charge["retries"]) == (6, 3, 0)
    assert charge["max_ms"] >= 10  # each run timed in the worker
    assert api.errors("shop.charge") == {"DeclinedError": 3}

    # Two runs ended in self.retry(exc=GatewayReset), the third succeeded after 2 retries.
    refund = api.totals("shop.refund")
    assert (refund["success"], refund["failure"], refund["retries"]) == (1, 2, 2)
    assert api.errors("shop.refund") == {"GatewayReset": 2}

    # A TimeoutError is a timeout, whether the run was retried or failed for good (after 1 retry).
    export = api.totals("shop.export")
    assert (export["success"], export["timeout"], export["failure"], export["retries"]) == (0, 2, 0, 1)

    function = api.function("shop.charge")
    assert function is not None and function["service"] == "payments"


@pytest.mark.django_db(transaction=True)
def test_it_reports_queue_depth_in_flight_and_the_oldest_messages_age(
    live_site: str, token: str, api: MonitorApi, publisher: Celery, subprocess_env: dict[str, str], redis_url: str
) -> None:
    reporter = Reporter(live_site, token, instance="web-1", flush_interval=0.2)
    broker = redis.Redis.from_url(redis_url)
    release = f"release-{uuid.uuid4().hex}"
    for _ in range(5):  # a queue no worker consumes
        publisher.send_task("shop.charge", args=[1], queue="shop.backlog")
    stamped = [float(broker_message(broker, "shop.backlog", i)["headers"][PUBLISHED_AT]) for i in range(5)]

    with shop_worker(publisher, subprocess_env, "shop.slow"):
        for _ in range(4):
            publisher.send_task("shop.hold", args=[release], queue="shop.slow")
        # One child runs a task, the worker holds one more (prefetch 1): two waiting.
        wait_until(lambda: broker.llen("shop.slow") == 2, 15)
        inspect = publisher.control.inspect(timeout=1)
        wait_until(lambda: sum(len(tasks) for tasks in (inspect.active() or {}).values()) == 1, 15)

        # A clock 42.5 s after the first message was sent: its age must read 42.5.
        monitor = QueueMonitor(
            publisher,
            queues=["shop.slow", "shop.backlog", "shop.empty"],
            reporter=reporter,
            clock=lambda: min(stamped) + 42.5,
        )
        snapshots = {snapshot.queue: snapshot for snapshot in monitor.report()}
        by_unacked = QueueMonitor(publisher, queues=["shop.slow"], in_flight="unacked").collect()[0]
        assert reporter.flush(10)

        assert (snapshots["shop.slow"].depth, snapshots["shop.slow"].in_flight) == (2, 2)  # 1 running + 1 prefetched
        assert by_unacked.in_flight == 1  # the prefetched one: a running task was acknowledged when it started
        assert (snapshots["shop.backlog"].depth, snapshots["shop.backlog"].in_flight) == (5, 0)
        assert (snapshots["shop.empty"].depth, snapshots["shop.empty"].oldest_age_s) == (0, None)

        backlog = api.queue("shop.backlog")
        assert backlog is not None
        latest = backlog["latest"]
        assert (latest["depth"], latest["in_flight"]) == (5, 0)
        assert latest["oldest_age_s"] == pytest.approx(42.5)  # the oldest of the five, by its own stamp
        slow = api.queue("shop.slow")
        assert slow is not None
        assert (slow["latest"]["depth"], slow["latest"]["in_flight"]) == (2, 2)

        # Every interval, from its own thread: once the tasks are let go, both fall to 0.
        monitor.interval = 0.2
        monitor.start()
        try:
            broker.set(release, 1)
            wait_until(lambda: latest_of(api, "shop.slow") == (0, 0), 30, every=0.2)
        finally:
            monitor.stop()
        assert reporter.flush(10)


def test_it_reads_the_queues_under_a_global_key_prefix(redis_url: str) -> None:
    app = shop_app(redis_url)
    app.conf.broker_transport_options = {"global_keyprefix": "shop:"}
    for _ in range(3):
        app.send_task("shop.charge", args=[1], queue="shop.prefixed")
    assert redis.Redis.from_url(redis_url).llen("shop:shop.prefixed") == 3  # where kombu put them

    [snapshot] = QueueMonitor(app, queues=["shop.prefixed"], in_flight="unacked", clock=lambda: 4e9).collect()
    assert snapshot.depth == 3
    assert snapshot.oldest_age_s is not None and snapshot.oldest_age_s > 1e9  # the stamp was found
    app.close()


def broker_message(broker: redis.Redis, queue: str, index: int) -> dict:
    return json.loads(broker.lindex(queue, index))


def latest_of(api: MonitorApi, queue: str) -> tuple[int, int] | None:
    found = api.queue(queue)
    if not found or not found["latest"]:
        return None
    return found["latest"]["depth"], found["latest"]["in_flight"]


@pytest.mark.django_db(transaction=True)
def test_the_queue_monitor_keeps_going_while_the_broker_is_down(
    live_site: str, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    reporter = Reporter(live_site, token, flush_interval=0.2)
    nowhere = shop_app(f"redis://127.0.0.1:{free_port()}/0")
    monitor = QueueMonitor(nowhere, queues=["shop.orders"], interval=0.1, reporter=reporter, inspect_timeout=0.2)
    with caplog.at_level(logging.WARNING, logger="resilience_client"):
        monitor.start()
        wait_until(lambda: "could not measure the Celery queues" in caplog.text, 30)
        thread = monitor._thread
        assert thread is not None and thread.is_alive()
        monitor.stop()
    assert caplog.text.count("could not measure the Celery queues") == 1  # warned once, not every interval
    assert reporter.stats()["sent"] == 0
