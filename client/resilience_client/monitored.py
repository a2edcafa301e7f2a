"""@monitored("fn"): time each call of a function and report its outcome."""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass
from typing import ParamSpec, TypeVar, cast

from .config import reporter_or_default
from .errors import Rejected
from .reporter import Reporter

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


@dataclass
class CallState:
    retries: int = 0


# The monitored call in progress in this thread or task, so retry() can count on it.
_current: ContextVar[CallState | None] = ContextVar("resilience_client_call", default=None)


def note_retry() -> None:
    state = _current.get()
    if state is not None:
        state.retries += 1


def outcome_of(error: BaseException | None) -> str:
    if error is None:
        return "success"
    if isinstance(error, Rejected):
        return "rejected"
    if isinstance(error, TimeoutError):
        return "timeout"
    return "failure"


class _Timed:
    """The body of one monitored call: sets up its state, reports on the way out."""

    def __init__(self, function: str, reporter: Reporter | None, clock: Callable[[], float]) -> None:
        self.function = function
        self.reporter = reporter
        self.clock = clock

    def __enter__(self) -> None:
        self.state = CallState()
        self.token = _current.set(self.state)
        self.started = self.clock()

    def __exit__(self, kind: type | None, error: BaseException | None, traceback: object) -> None:
        elapsed_ms = (self.clock() - self.started) * 1000.0
        _current.reset(self.token)
        # KeyboardInterrupt, SystemExit, task cancellation: not the function's outcome.
        if error is not None and not isinstance(error, Exception):
            return
        reporter = reporter_or_default(self.reporter)
        if reporter is not None:
            reporter.record_call(
                self.function,
                max(0.0, elapsed_ms),
                outcome_of(error),
                error_type=type(error).__name__ if error is not None else None,
                retries=self.state.retries,
            )


def monitored(
    function: str, reporter: Reporter | None = None, clock: Callable[[], float] = time.perf_counter
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Report every call of the decorated function (sync or async) as `function`.

    Outcome: success; rejected (breaker open, limit full); timeout (any TimeoutError,
    including timeout()'s); failure for any other exception, with its class name as
    error_type. The exception is always re-raised.
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        if inspect.iscoroutinefunction(fn):
            return cast("Callable[P, R]", decorate_async(fn))

        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            with _Timed(function, reporter, clock):
                return fn(*args, **kwargs)

        return run

    def decorate_async(fn: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[object, object, T]]:
        @functools.wraps(fn)
        async def run_async(*args: P.args, **kwargs: P.kwargs) -> T:
            with _Timed(function, reporter, clock):
                return await fn(*args, **kwargs)

        return run_async

    return decorate
