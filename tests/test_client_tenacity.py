"""tenacity's real retrying, reported to the live site, read back through the API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
import tenacity
from django.test import Client

from resilience_client import Reporter
from resilience_client.integrations.tenacity import reported
from tests.monitor_api import MonitorApi, viewer_api


@pytest.fixture
def api(client: Client, transactional_db: None) -> MonitorApi:
    return viewer_api(client)


class GatewayReset(ConnectionError):
    pass


def flaky(failures: int, attempt_s: float = 0.0) -> tuple[Callable[[], int], list[int]]:
    """A function that fails `failures` times with GatewayReset, then returns its attempt count."""
    attempts: list[int] = []

    def charge() -> int:
        attempts.append(1)
        time.sleep(attempt_s)
        if len(attempts) <= failures:
            raise GatewayReset("gateway reset the connection")
        return len(attempts)

    return charge, attempts


@pytest.mark.django_db(transaction=True)
def test_each_attempt_is_a_call_and_the_last_carries_the_retries(live_site: str, token: str, api: MonitorApi) -> None:
    reporter = Reporter(live_site, token, flush_interval=0.2)
    body, attempts = flaky(failures=2, attempt_s=0.03)
    charge = reported("charge_card", reporter=reporter)(
        tenacity.retry(stop=tenacity.stop_after_attempt(5), wait=tenacity.wait_fixed(0.5))(body)
    )

    assert charge() == 3
    assert reporter.flush(10)

    totals = api.totals("charge_card")
    assert len(attempts) == 3
    assert (totals["calls"], totals["success"], totals["failure"], totals["retries"]) == (3, 1, 2, 2)
    # Each attempt is timed on its own: ~30 ms; with a 500 ms wait it would be 530 ms or more.
    assert 30 <= totals["max_ms"] < 500
    assert api.errors("charge_card") == {"GatewayReset": 2}


@pytest.mark.django_db(transaction=True)
def test_one_call_per_call_when_asked_timed_with_its_waits(live_site: str, token: str, api: MonitorApi) -> None:
    reporter = Reporter(live_site, token, flush_interval=0.2)
    body, attempts = flaky(failures=2)
    charge = reported("charge_card", reporter=reporter, each_attempt=False)(
        tenacity.retry(stop=tenacity.stop_after_attempt(5), wait=tenacity.wait_fixed(0.2))(body)
    )

    assert charge() == 3
    assert reporter.flush(10)

    totals = api.totals("charge_card")
    assert (totals["calls"], totals["success"], totals["failure"], totals["retries"]) == (1, 1, 0, 2)
    assert totals["max_ms"] >= 400  # two waits of 200 ms


@pytest.mark.django_db(transaction=True)
def test_a_call_out_of_attempts_is_reported_with_the_last_error_not_retry_error(
    live_site: str, token: str, api: MonitorApi
) -> None:
    reporter = Reporter(live_site, token, flush_interval=0.2)
    body, attempts = flaky(failures=10)
    charge = reported("charge_card", reporter=reporter)(
        tenacity.retry(stop=tenacity.stop_after_attempt(3), wait=tenacity.wait_none())(body)
    )

    with pytest.raises(tenacity.RetryError):
        charge()
    assert reporter.flush(10)

    totals = api.totals("charge_card")
    assert len(attempts) == 3
    assert (totals["calls"], totals["success"], totals["failure"], totals["retries"]) == (3, 0, 3, 2)
    assert api.errors("charge_card") == {"GatewayReset": 3}


@pytest.mark.django_db(transaction=True)
def test_an_error_tenacity_does_not_retry_ends_the_call_at_once(live_site: str, token: str, api: MonitorApi) -> None:
    reporter = Reporter(live_site, token, flush_interval=0.2)

    @reported("refund", reporter=reporter)
    @tenacity.retry(retry=tenacity.retry_if_exception_type(ConnectionError), stop=tenacity.stop_after_attempt(3))
    def refund() -> None:
        raise ValueError("amount must be positive")

    with pytest.raises(ValueError, match="amount"):
        refund()
    assert reporter.flush(10)

    totals = api.totals("refund")
    assert (totals["calls"], totals["failure"], totals["retries"]) == (1, 1, 0)
    assert api.errors("refund") == {"ValueError": 1}


@pytest.mark.django_db(transaction=True)
def test_async_retries_keep_the_functions_own_hooks(live_site: str, token: str, api: MonitorApi) -> None:
    reporter = Reporter(live_site, token, flush_interval=0.2)
    slept: list[int] = []
    before: list[int] = []

    async def own_before_sleep(state: tenacity.RetryCallState) -> None:
        await asyncio.sleep(0)
        slept.append(state.attempt_number)

    attempts: list[int] = []

    @reported("embed", reporter=reporter)
    @tenacity.retry(
        stop=tenacity.stop_after_attempt(4),
        wait=tenacity.wait_fixed(0.01),
        before=lambda state: before.append(state.attempt_number),
        before_sleep=own_before_sleep,
    )
    async def embed(text: str) -> int:
        attempts.append(1)
        await asyncio.sleep(0.02)
        if len(attempts) < 4:
            raise TimeoutError("embedding service took too long")
        return len(text)

    assert asyncio.run(embed("hello")) == 5
    assert reporter.flush(10)

    assert before == [1, 2, 3, 4]
    assert slept == [1, 2, 3]
    totals = api.totals("embed")
    assert (totals["calls"], totals["success"], totals["timeout"], totals["retries"]) == (4, 1, 3, 3)
    assert embed.statistics["attempt_number"] == 4  # tenacity's own statistics still there


def test_it_refuses_a_function_tenacity_did_not_wrap() -> None:
    with pytest.raises(TypeError, match="above @tenacity.retry"):
        reported("charge_card")(lambda: None)
