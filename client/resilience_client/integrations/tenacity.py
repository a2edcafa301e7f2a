"""tenacity: report each attempt of a retried function as a call, and the retries it took.

    @reported("charge_card")          # above tenacity's decorator
    @tenacity.retry(stop=tenacity.stop_after_attempt(3), wait=tenacity.wait_exponential())
    def charge_card(...): ...

reported() installs its own `before` and `before_sleep` hooks on a copy of the function's
Retrying (through tenacity's `retry_with`), chained with the ones already there, so the
function keeps every setting and callback it had.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import tenacity

from ..config import reporter_or_default
from ..monitored import outcome_of
from ..reporter import Reporter

F = TypeVar("F", bound=Callable[..., Any])
Hook = Callable[[tenacity.RetryCallState], Any]


@dataclass
class _Call:
    """One call of a reported function: when it and its current attempt started (tenacity's
    clock, time.monotonic), and tenacity's state for it once the first attempt began."""

    started: float
    attempt_started: float
    state: tenacity.RetryCallState | None = None


# The reported call in progress in this thread or task: tenacity's hooks run in it too.
_current: ContextVar[_Call | None] = ContextVar("resilience_client_tenacity_call", default=None)


def _chain(ours: Hook, theirs: Hook | None) -> Hook:
    """Our hook, then the one the function already had (awaited when it is async)."""
    if theirs is None:
        return ours
    if inspect.iscoroutinefunction(theirs) or inspect.iscoroutinefunction(type(theirs).__call__):

        async def both_async(state: tenacity.RetryCallState) -> object:
            ours(state)
            return await cast("Callable[[tenacity.RetryCallState], Awaitable[object]]", theirs)(state)

        return both_async

    def both(state: tenacity.RetryCallState) -> object:
        ours(state)
        return theirs(state)

    return both


def _error_of(state: tenacity.RetryCallState) -> BaseException | None:
    outcome = state.outcome
    return outcome.exception() if outcome is not None and outcome.failed else None


class _Hooks:
    def __init__(self, function: str, reporter: Reporter | None, each_attempt: bool) -> None:
        self.function = function
        self.reporter = reporter
        self.each_attempt = each_attempt

    def before(self, state: tenacity.RetryCallState) -> None:
        call = _current.get()
        if call is not None:
            call.state = state
            call.attempt_started = time.monotonic()

    def before_sleep(self, state: tenacity.RetryCallState) -> None:
        """A failed attempt that will be retried: reported now, as a call of its own."""
        call = _current.get()
        if not self.each_attempt or call is None:
            return
        ended = state.outcome_timestamp or time.monotonic()
        self.record(ended - call.attempt_started, _error_of(state), retries=0)

    def finish(self, call: _Call, error: BaseException | None) -> None:
        """The call is over: report its last attempt, with the retries the call took."""
        if error is not None and not isinstance(error, Exception):
            return  # KeyboardInterrupt, SystemExit, task cancellation: not the call's outcome
        state = call.state
        if state is None or state.outcome is None:
            # tenacity disabled (retrying.enabled = False): the function ran once, unretried.
            ended, last_error, attempts = time.monotonic(), error, 1
        else:
            ended = state.outcome_timestamp or time.monotonic()
            last_error, attempts = _error_of(state), state.attempt_number
        if last_error is not None and not isinstance(last_error, Exception):
            return
        started = call.attempt_started if self.each_attempt else call.started
        self.record(ended - started, last_error, retries=attempts - 1)

    def record(self, seconds: float, error: BaseException | None, retries: int) -> None:
        reporter = reporter_or_default(self.reporter)
        if reporter is not None:
            reporter.record_call(
                self.function,
                max(0.0, seconds * 1000.0),
                outcome_of(error),
                error_type=type(error).__name__ if error is not None else None,
                retries=retries,
            )


def reported(function: str, reporter: Reporter | None = None, each_attempt: bool = True) -> Callable[[F], F]:
    """Report a function decorated with `@tenacity.retry(...)` (put this above it) as `function`.

    each_attempt=True (the default): every attempt is one call, with its own outcome and
    duration; the attempt that ends the call (it succeeded, raised something not retried,
    or was the last one allowed) carries the number of retries the call took, so the
    monitor's retries add up to tenacity's. each_attempt=False: one call per call of the
    function, timed from the first attempt to the end of the last (waits included), with
    the last attempt's outcome and the retries.

    Outcomes as @monitored's: success, timeout (a TimeoutError), rejected (Rejected),
    failure (anything else, with its class name). A call that ran out of attempts is
    reported with the last attempt's exception, not tenacity's RetryError; one whose
    `retry_error_callback` returned a fallback value is still a failure.
    """

    def decorate(retried: F) -> F:
        retrying = getattr(retried, "retry", None)
        retry_with = getattr(retried, "retry_with", None)
        if not isinstance(retrying, tenacity.BaseRetrying) or retry_with is None:
            raise TypeError("reported() goes above @tenacity.retry(...), on the function tenacity returned")
        hooks = _Hooks(function, reporter, each_attempt)
        rewired = retry_with(
            before=_chain(hooks.before, retrying.before),
            before_sleep=_chain(hooks.before_sleep, retrying.before_sleep),
        )

        def begin() -> tuple[_Call, Token[_Call | None]]:
            now = time.monotonic()
            call = _Call(started=now, attempt_started=now)
            return call, _current.set(call)

        if inspect.iscoroutinefunction(retried):

            @functools.wraps(retried)
            async def run_async(*args: object, **kwargs: object) -> object:
                call, token = begin()
                try:
                    result = await rewired(*args, **kwargs)
                except BaseException as error:
                    _current.reset(token)
                    hooks.finish(call, error)
                    raise
                _current.reset(token)
                hooks.finish(call, None)
                return result

            wrapper: Any = run_async
        else:

            @functools.wraps(retried)
            def run(*args: object, **kwargs: object) -> object:
                call, token = begin()
                try:
                    result = rewired(*args, **kwargs)
                except BaseException as error:
                    _current.reset(token)
                    hooks.finish(call, error)
                    raise
                _current.reset(token)
                hooks.finish(call, None)
                return result

            wrapper = run

        # What tenacity's own wrapper offers, for the copy that reports.
        wrapper.retry = rewired.retry
        wrapper.statistics = rewired.statistics
        wrapper.retry_with = lambda *a, **kw: reported(function, reporter, each_attempt)(retry_with(*a, **kw))
        return cast("F", wrapper)

    return decorate
