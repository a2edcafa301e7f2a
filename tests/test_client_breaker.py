from __future__ import annotations

from collections.abc import Callable

import pytest

from monitoring.models import Breaker, BreakerFlip
from resilience_client import BreakerOpen, CircuitBreaker, Reporter, monitored
from tests.conftest import stored_calls


class UnavailableError(Exception):
    pass


class Clock:
    """A monotonic clock that moves only when the test says: no sleeping out a reset timeout."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def groq_call(reporter: Reporter, breaker: CircuitBreaker, healthy: list[bool]) -> Callable[[], str | None]:
    @monitored("invokeGroq", reporter=reporter)
    @breaker
    def invoke() -> str:
        if not healthy[0]:
            raise UnavailableError("upstream 503")
        return "ok"

    def call() -> str | None:
        try:
            return invoke()
        except (UnavailableError, BreakerOpen):
            return None

    return call


@pytest.mark.django_db(transaction=True)
def test_it_shows_a_breaker_open_on_one_instance_and_closed_on_another(live_site: str, token: str) -> None:
    healthy = [False]
    calls = {}
    reporters = {}
    clock = Clock()
    for instance in ("groq-1", "groq-2"):
        reporters[instance] = Reporter(live_site, token, instance=instance, flush_interval=0.1)
        breaker = CircuitBreaker(
            "invokeGroq", failure_threshold=3, reset_timeout=30, reporter=reporters[instance], clock=clock
        )
        calls[instance] = groq_call(reporters[instance], breaker, healthy)

    for _ in range(5):  # 3 failures open both breakers, then 2 rejections each
        calls["groq-1"]()
        calls["groq-2"]()
    clock.advance(29)
    assert calls["groq-2"]() is None  # still open: rejected without a trial
    clock.advance(1)
    healthy[0] = True
    assert calls["groq-2"]() == "ok"  # the half-open trial succeeds: closed again
    for reporter in reporters.values():
        assert reporter.flush(10)

    states = dict(Breaker.objects.filter(function__name="invokeGroq").values_list("instance", "state"))
    assert states == {"groq-1": "open", "groq-2": "closed"}
    timeline = list(
        BreakerFlip.objects.filter(instance="groq-2").order_by("at", "id").values_list("old_state", "new_state")
    )
    assert timeline == [("", "closed"), ("closed", "open"), ("open", "half_open"), ("half_open", "closed")]
    assert BreakerFlip.objects.filter(instance="groq-1").count() == 2
    bucket = stored_calls(function__name="invokeGroq")
    assert (bucket.success, bucket.failure, bucket.rejected) == (1, 6, 5)


@pytest.mark.django_db(transaction=True)
def test_it_opens_again_when_the_half_open_trial_fails(live_site: str, token: str) -> None:
    reporter = Reporter(live_site, token, instance="groq-3", flush_interval=0.1)
    clock = Clock()
    breaker = CircuitBreaker("invokeGroq", failure_threshold=2, reset_timeout=30, reporter=reporter, clock=clock)
    call = groq_call(reporter, breaker, [False])
    call(), call()
    clock.advance(30)
    call()  # the trial fails
    call()  # rejected without reaching the dependency
    assert reporter.flush(10)

    breaker_row = Breaker.objects.get(instance="groq-3")
    assert breaker_row.state == "open"
    new_states = list(BreakerFlip.objects.order_by("at", "id").values_list("new_state", flat=True))
    assert new_states == ["closed", "open", "half_open", "open"]
    bucket = stored_calls(function__name="invokeGroq")
    assert (bucket.failure, bucket.rejected) == (3, 1)
