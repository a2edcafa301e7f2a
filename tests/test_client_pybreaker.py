"""pybreaker's real breaker with the listener, reported to the live site, read back through the API."""

from __future__ import annotations

import time
from collections.abc import Callable

import pybreaker
import pytest
from django.test import Client

from resilience_client import Reporter
from resilience_client.integrations.pybreaker import BreakerListener
from tests.monitor_api import MonitorApi, viewer_api


@pytest.fixture
def api(client: Client, transactional_db: None) -> MonitorApi:
    return viewer_api(client)


class UnavailableError(Exception):
    pass


class NotFoundError(Exception):
    pass


def groq(breaker: pybreaker.CircuitBreaker, listener: BreakerListener, healthy: list[bool]) -> Callable[[], str]:
    @listener.guard(breaker)
    def invoke() -> str:
        time.sleep(0.01)
        if not healthy[0]:
            raise UnavailableError("upstream 503")
        return "ok"

    return invoke


def outcome(call: Callable[[], str]) -> str:
    try:
        return call()
    except pybreaker.CircuitBreakerError as error:
        return "tripped" if "threshold" in str(error) or "Trial" in str(error) else "refused"
    except UnavailableError:
        return "failed"


@pytest.mark.django_db(transaction=True)
def test_it_reports_the_breakers_states_and_its_calls_as_pybreaker_saw_them(
    live_site: str, token: str, api: MonitorApi
) -> None:
    reporter = Reporter(live_site, token, instance="groq-1", flush_interval=0.2)
    listener = BreakerListener(reporter=reporter)
    breaker = pybreaker.CircuitBreaker(fail_max=3, reset_timeout=1.0, name="invokeGroq", listeners=[listener])
    healthy = [False]
    invoke = groq(breaker, listener, healthy)

    seen = [outcome(invoke) for _ in range(5)]
    assert seen == ["failed", "failed", "tripped", "refused", "refused"]
    assert breaker.current_state == "open"
    time.sleep(1.0)
    healthy[0] = True
    assert outcome(invoke) == "ok"  # the trial call, half-open, closes the breaker
    assert breaker.current_state == "closed"
    assert reporter.flush(10)

    function = api.function("invokeGroq")
    assert function is not None
    flips = [(flip["old_state"], flip["new_state"]) for flip in reversed(function["breaker_flips"])]
    assert flips == [("", "closed"), ("closed", "open"), ("open", "half_open"), ("half_open", "closed")]
    assert [(row["instance"], row["state"]) for row in function["breaker_instances"]] == [("groq-1", "closed")]
    totals = api.totals("invokeGroq")
    assert (totals["success"], totals["failure"], totals["rejected"]) == (1, 3, 2)
    assert totals["max_ms"] >= 10  # calls that ran are timed
    assert api.errors("invokeGroq") == {"UnavailableError": 3, "CircuitBreakerError": 2}


@pytest.mark.django_db(transaction=True)
def test_it_shows_the_breaker_open_on_one_instance_of_two(live_site: str, token: str, api: MonitorApi) -> None:
    healthy = {"groq-1": [False], "groq-2": [True]}
    reporters, calls = [], {}
    for instance in ("groq-1", "groq-2"):
        reporter = Reporter(live_site, token, instance=instance, flush_interval=0.2)
        listener = BreakerListener("invokeGroq", reporter=reporter)
        breaker = pybreaker.CircuitBreaker(fail_max=2, reset_timeout=60)  # no name; guard() adds the listener
        calls[instance] = groq(breaker, listener, healthy[instance])
        reporters.append(reporter)

    for _ in range(4):
        outcome(calls["groq-1"])
        outcome(calls["groq-2"])
    for reporter in reporters:
        assert reporter.flush(10)

    function = api.function("invokeGroq")
    assert function is not None
    summary = function["breaker"]
    assert (summary["open"], summary["closed"], summary["instances"]) == (1, 1, 2)
    states = {row["instance"]: row["state"] for row in function["breaker_instances"]}
    assert states == {"groq-1": "open", "groq-2": "closed"}
    totals = api.totals("invokeGroq")
    assert (totals["success"], totals["failure"], totals["rejected"]) == (4, 2, 2)


@pytest.mark.django_db(transaction=True)
def test_an_excluded_exception_leaves_the_breaker_closed_but_is_reported_as_the_failure_it_was(
    live_site: str, token: str, api: MonitorApi
) -> None:
    reporter = Reporter(live_site, token, flush_interval=0.2)
    listener = BreakerListener(reporter=reporter)
    breaker = pybreaker.CircuitBreaker(fail_max=2, name="lookup", exclude=[NotFoundError], listeners=[listener])

    @breaker  # pybreaker's own decorator: calls that run are reported all the same
    def lookup(key: str) -> str:
        if key == "missing":
            raise NotFoundError(key)
        return key

    for key in ("a", "missing", "missing", "missing", "b"):
        try:
            lookup(key)
        except NotFoundError:
            pass
    try:  # a call made while another exception is being handled is still a success
        raise KeyError("earlier")
    except KeyError:
        assert lookup("c") == "c"
    assert breaker.current_state == "closed"
    assert reporter.flush(10)

    totals = api.totals("lookup")
    assert (totals["success"], totals["failure"], totals["rejected"]) == (3, 3, 0)
    assert api.errors("lookup") == {"NotFoundError": 3}
    function = api.function("lookup")
    assert function is not None
    assert [row["state"] for row in function["breaker_instances"]] == ["closed"]
