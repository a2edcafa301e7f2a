"""A real Celery worker on a real Redis, for the tests that need one (fixtures, via conftest).

`celery_worker` starts `celery -A resilience_site worker --pool=solo` as a subprocess on a
throwaway Redis, sharing the test database (the test needs
`@pytest.mark.django_db(transaction=True)`), and switches this process's Celery app to the
same broker with eager mode off. The worker gets short delivery timings
(WORKER_TIMINGS); the test process gets the same through `settings`. `.kill()` ends it
with SIGKILL, as a crash would; `.start()` starts a fresh one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_django import Settings

from tests.receivers import SmtpReceiver
from tests.servers import redis_server

ROOT = Path(__file__).resolve().parent.parent
WORKER_TIMINGS = {
    "MONITOR_DELIVERY_SCHEDULE_S": "0.5,0.5,0.5",
    # No claim lapses by itself during a test; a test that needs one lapsed moves it back.
    "MONITOR_DELIVERY_LEASE_S": "60",
    "MONITOR_HTTP_TIMEOUT_S": "10",
    # An incident's first notice still waits for its countdown task, but a short one; a
    # cleared condition resolves in the next round (hysteresis has tests of its own).
    "MONITOR_GROUP_WAIT_S": "1",
    "MONITOR_RESOLVE_AFTER_S": "0",
}


@pytest.fixture
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


class Worker:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.process: subprocess.Popen | None = None
        self.name = ""

    def start(self, timeout: float = 30.0) -> None:
        from resilience_site.celery import app

        self.name = f"test-{uuid.uuid4().hex[:8]}@localhost"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "resilience_site",
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "--loglevel=WARNING",
                "-n",
                self.name,
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=self.env,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the Celery worker exited with {self.process.returncode}")
            if app.control.ping(destination=[self.name], timeout=0.5):
                return
        raise RuntimeError(f"the Celery worker did not answer a ping within {timeout} s")

    def kill(self) -> None:
        """SIGKILL: the worker dies mid-task, as on a lost machine."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def switch_app(broker_url: str | None, eager: bool) -> None:
    from kombu import pools

    from monitoring.tasks_engine import task_engine
    from resilience_site.celery import app

    app.conf.broker_url = broker_url
    app.conf.task_always_eager = eager
    # The engine is chosen once per process: choose again for the settings now in force.
    task_engine.cache_clear()
    # Forget the connections and producers made for the previous broker.
    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def celery_worker(
    subprocess_env: dict[str, str], redis_url: str, smtp_server: SmtpReceiver, settings: Settings
) -> Iterator[Worker]:
    from resilience_site.celery import app

    env = {
        **subprocess_env,
        **smtp_server.env,
        **WORKER_TIMINGS,
        "REDIS_URL": redis_url,
        "MONITOR_ALLOW_PRIVATE_WEBHOOK_TARGETS": "1",
    }
    # Read before the settings change: the app loads its configuration from the settings
    # lazily, so read after, the "old" values would already be the worker's.
    old = (app.conf.broker_url, app.conf.task_always_eager)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.MONITOR_DELIVERY_SCHEDULE_S = [float(s) for s in WORKER_TIMINGS["MONITOR_DELIVERY_SCHEDULE_S"].split(",")]
    settings.MONITOR_DELIVERY_LEASE_S = float(WORKER_TIMINGS["MONITOR_DELIVERY_LEASE_S"])
    settings.MONITOR_ALLOW_PRIVATE_WEBHOOK_TARGETS = True
    settings.MONITOR_GROUP_WAIT_S = float(WORKER_TIMINGS["MONITOR_GROUP_WAIT_S"])
    settings.MONITOR_RESOLVE_AFTER_S = float(WORKER_TIMINGS["MONITOR_RESOLVE_AFTER_S"])
    switch_app(redis_url, eager=False)
    worker = Worker(env)
    try:
        worker.start()
        yield worker
    finally:
        worker.stop()
        switch_app(*old)
