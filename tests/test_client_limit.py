from __future__ import annotations

import asyncio
import threading
import time

import pytest

from monitoring.models import Concurrency
from resilience_client import ConcurrencyLimit, LimitFull, Reporter, monitored
from tests.conftest import stored_calls
from tests.waiting import wait_until


@pytest.mark.django_db(transaction=True)
def test_it_reports_active_and_queued_calls_and_rejects_when_full(live_site: str, token: str) -> None:
    reporter = Reporter(live_site, token, instance="embed-1", flush_interval=0.1)
    limit = ConcurrencyLimit("embed", limit=2, max_queued=1, queue_timeout=10, reporter=reporter)
    release = threading.Event()

    @monitored("embed", reporter=reporter)
    @limit
    def embed() -> str:
        release.wait(10)
        return "vector"

    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(embed())) for _ in range(3)]
    for thread in threads:
        thread.start()
    wait_until(lambda: (limit.active, limit.queued) == (2, 1))
    with pytest.raises(LimitFull):
        embed()
    assert reporter.flush(10)
    gauge = Concurrency.objects.get(function__name="embed", instance="embed-1")
    assert (gauge.active, gauge.limit, gauge.queued) == (2, 2, 1)

    release.set()
    for thread in threads:
        thread.join(10)
    assert results == ["vector"] * 3
    assert reporter.flush(10)
    gauge.refresh_from_db()
    assert (gauge.active, gauge.queued) == (0, 0)
    bucket = stored_calls(function__name="embed")
    assert (bucket.success, bucket.rejected) == (3, 1)


@pytest.mark.django_db(transaction=True)
def test_it_rejects_a_queued_call_after_its_queue_timeout(live_site: str, token: str) -> None:
    reporter = Reporter(live_site, token, flush_interval=0.1)
    limit = ConcurrencyLimit("send_sms", limit=1, max_queued=5, queue_timeout=0.1, reporter=reporter)
    limit.acquire()  # someone else holds the only slot

    @monitored("send_sms", reporter=reporter)
    @limit
    def send() -> None:
        pass

    started = time.monotonic()
    with pytest.raises(LimitFull):
        send()
    assert 0.1 <= time.monotonic() - started < 1.0
    assert limit.queued == 0
    limit.release()
    send()
    assert reporter.flush(10)
    bucket = stored_calls(function__name="send_sms")
    assert (bucket.success, bucket.rejected) == (1, 1)
    assert Concurrency.objects.get(function__name="send_sms").active == 0


@pytest.mark.django_db(transaction=True)
def test_it_limits_async_tasks_and_hands_the_slot_to_the_waiting_one(live_site: str, token: str) -> None:
    reporter = Reporter(live_site, token, instance="gateway-a1", flush_interval=0.1)
    limit = ConcurrencyLimit("invokeGroq", limit=1, max_queued=1, reporter=reporter)
    order: list[str] = []

    @monitored("invokeGroq", reporter=reporter)
    @limit
    async def invoke(name: str) -> str:
        order.append(name)
        await asyncio.sleep(0.1)
        return name

    async def main() -> list:
        first = asyncio.create_task(invoke("first"))
        await asyncio.sleep(0.01)
        second = asyncio.create_task(invoke("second"))
        await asyncio.sleep(0.01)
        assert (limit.active, limit.queued) == (1, 1)
        third = asyncio.create_task(invoke("third"))
        return await asyncio.gather(first, second, third, return_exceptions=True)

    first, second, third = asyncio.run(main())
    assert (first, second) == ("first", "second")
    assert isinstance(third, LimitFull)
    assert order == ["first", "second"]
    assert reporter.flush(10)
    calls = stored_calls(function__name="invokeGroq")
    assert (calls.success, calls.rejected) == (2, 1)
    gauge = Concurrency.objects.get(function__name="invokeGroq", instance="gateway-a1")
    assert (gauge.active, gauge.limit, gauge.queued) == (0, 1, 0)
