from __future__ import annotations

import asyncio
import time

import pytest

from resilience_client import CallTimeoutError, Reporter, monitored, timeout
from tests.conftest import stored_calls


@pytest.mark.django_db(transaction=True)
def test_it_gives_up_on_a_slow_call_and_reports_a_timeout(live_site: str, token: str) -> None:
    reporter = Reporter(live_site, token, flush_interval=0.1)

    @monitored("invokeOpenAI", reporter=reporter)
    @timeout(0.1)
    def invoke(seconds: float) -> str:
        time.sleep(seconds)
        return "answer"

    assert invoke(0.01) == "answer"
    started = time.monotonic()
    with pytest.raises(CallTimeoutError):
        invoke(1.0)
    assert time.monotonic() - started < 0.5
    assert reporter.flush(10)
    bucket = stored_calls(function__name="invokeOpenAI")
    assert (bucket.success, bucket.timeout) == (1, 1)
    assert 100 <= bucket.latency_max_ms < 500


@pytest.mark.django_db(transaction=True)
def test_it_cancels_a_slow_async_call_and_reports_a_timeout(live_site: str, token: str) -> None:
    reporter = Reporter(live_site, token, flush_interval=0.1)
    finished = []

    @monitored("invokeOpenAI", reporter=reporter)
    @timeout(0.1)
    async def invoke() -> None:
        await asyncio.sleep(1.0)
        finished.append(True)

    with pytest.raises(CallTimeoutError):
        asyncio.run(invoke())
    assert finished == []
    assert reporter.flush(10)
    bucket = stored_calls(function__name="invokeOpenAI")
    assert bucket.timeout == 1
