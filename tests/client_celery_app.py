"""A service's own Celery app, as a user of the client would write it, for tests/test_client_celery.py.

Its worker runs as a subprocess (`celery -A tests.client_celery_app worker`); it reports to
the monitor named by SHOP_MONITOR_URL / SHOP_MONITOR_TOKEN, on the broker SHOP_BROKER_URL.
"""

from __future__ import annotations

import os
import time

import redis
from celery import Celery, Task

from resilience_client import configure
from resilience_client.integrations.celery import report_tasks, stamp_messages

app = Celery("shop", broker=os.environ.get("SHOP_BROKER_URL", "memory://"))
app.conf.update(
    task_default_queue="shop.orders",
    worker_prefetch_multiplier=1,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)

stamp_messages()
if os.environ.get("SHOP_MONITOR_URL"):
    configure(os.environ["SHOP_MONITOR_URL"], os.environ["SHOP_MONITOR_TOKEN"], instance="worker-1", flush_interval=0.2)
    report_tasks(app)


class DeclinedError(Exception):
    pass


class GatewayReset(ConnectionError):
    pass


@app.task(name="shop.charge")
def charge(n: int) -> int:
    time.sleep(0.01)
    if n % 3 == 0:
        raise DeclinedError(f"card {n} declined")
    return n


@app.task(name="shop.refund", bind=True, max_retries=5)
def refund(self: Task, fail_times: int) -> int:
    if self.request.retries < fail_times:
        raise self.retry(exc=GatewayReset("gateway reset the connection"), countdown=0)
    return self.request.retries


@app.task(name="shop.export", bind=True, max_retries=1)
def export(self: Task) -> None:
    raise self.retry(exc=TimeoutError("the warehouse took too long"), countdown=0)


@app.task(name="shop.hold")
def hold(key: str) -> None:
    """Runs until the test sets `key` in Redis (at most 30 s): a task in flight for as long as needed."""
    client = redis.Redis.from_url(app.conf.broker_url)
    deadline = time.monotonic() + 30
    while not client.exists(key) and time.monotonic() < deadline:
        time.sleep(0.02)
