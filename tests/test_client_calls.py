from __future__ import annotations

import asyncio

import pytest

from resilience_client import CallTimeout, Reporter, monitored, retry
from tests.conftest import stored_calls


class DeclinedError(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_it_counts_fifty_monitored_calls_by_outcome(live_site: str, token: str) -> None:
    reporter = Reporter(live_site, token, instance="checkout-1", flush_interval=0.2)

    @monitored("charge_card", reporter=reporter)
    def charge(n: int) -> int:
        if n % 5 == 0:
            raise DeclinedError("card declined")
        if n % 7 == 0:
            raise CallTimeout("gateway took too long")
        return n

    results = []
    for n in range(1, 51):
        try:
            results.append(charge(n))
        except (DeclinedError, CallTimeout):
            pass
    assert reporter.flush(10)

    bucket = stored_calls(function__name="charge_card", function__service__name="payments")
    assert (bucket.success, bucket.failure, bucket.timeout, bucket.rejected) == (len(results), 10, 6, 0)
    assert reporter.stats()["sent"] == 50
    assert reporter.stats()["dropped"] == 0


@pytest.mark.django_db(transaction=True)
def test_it_reports_retries_on_the_call(live_site: str, token: str) -> None:
    reporter = Reporter(live_site, token, flush_interval=0.2)
    attempts = []

    @monitored("refund", reporter=reporter)
    @retry(attempts=4, base_delay=0.01, max_delay=0.05)
    def refund() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionError("gateway reset the connection")
        return "ok"

    assert refund() == "ok"
    assert reporter.flush(10)
    bucket = stored_calls(function__name="refund")
    assert (bucket.success, bucket.failure, bucket.retries) == (1, 0, 2)


@pytest.mark.django_db(transaction=True)
def test_it_monitors_async_functions(live_site: str, token: str) -> None:
    reporter = Reporter(live_site, token, flush_interval=0.2)

    @monitored("embed", reporter=reporter)
    async def embed(text: str) -> int:
        await asyncio.sleep(0.05)
        if not text:
            raise ValueError("nothing to embed")
        return len(text)

    async def main() -> None:
        await asyncio.gather(*(embed("hello") for _ in range(5)), return_exceptions=True)
        await asyncio.gather(embed(""), return_exceptions=True)

    asyncio.run(main())
    assert reporter.flush(10)
    bucket = stored_calls(function__name="embed")
    assert (bucket.success, bucket.failure) == (5, 1)
    assert bucket.latency_max_ms >= 50


@pytest.mark.django_db(transaction=True)
def test_it_drops_items_the_monitor_would_refuse_without_losing_the_batch(live_site: str, token: str) -> None:
    reporter = Reporter(live_site, token, flush_interval=0.2)
    reporter.record_call("bad\nname", 1.0)
    reporter.record_call("charge_card", -5)
    reporter.record_call("charge_card", 1.0, outcome="exploded")
    reporter.record_breaker("invokeGroq", "ajar")
    reporter.record_queue("email_queue", depth=-1)
    reporter.record_call("charge_card", 1.0)
    assert reporter.flush(10)

    assert reporter.stats() == {"sent": 1, "dropped": 5, "retried": 0, "failed": 0, "batches": 1, "pending": 0}
    assert stored_calls(function__name="charge_card").success == 1


@pytest.mark.django_db(transaction=True)
def test_it_reports_a_call_that_failed_every_retry_once_with_its_retries(live_site: str, token: str) -> None:
    reporter = Reporter(live_site, token, flush_interval=0.2)
    waits: list[float] = []

    @monitored("refund", reporter=reporter)
    @retry(attempts=3, base_delay=0.5, max_delay=0.8, jitter=0, sleep=waits.append)
    def refund() -> None:
        raise ConnectionError("gateway reset the connection")

    with pytest.raises(ConnectionError):
        refund()
    assert reporter.flush(10)
    assert waits == [0.5, 0.8]  # doubling, capped at max_delay
    calls = stored_calls(function__name="refund")
    assert (calls.success, calls.failure, calls.retries) == (0, 1, 2)
