"""A circuit breaker that reports each of its transitions to the monitor."""

from __future__ import annotations

import functools
import inspect
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import ParamSpec, TypeVar, cast

from .config import reporter_or_default
from .errors import BreakerOpen, Rejected
from .reporter import Reporter

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitBreaker:
    """closed -> open after failure_threshold failures in a row; open rejects calls
    (BreakerOpen) for reset_timeout seconds; then half_open lets one trial call through:
    success closes the breaker, failure opens it again.

    Exceptions of the `failures` types count as failures; any other exception means
    the dependency answered, so it counts as a success. Rejected never counts.
    """

    def __init__(
        self,
        name: str,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        failures: tuple[type[BaseException], ...] = (Exception,),
        reporter: Reporter | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.failure_threshold = max(1, failure_threshold)
        self.reset_timeout = reset_timeout
        self.failures = failures
        self.reporter = reporter
        self.clock = clock
        self.state = CLOSED
        self.failure_count = 0
        self.opened_at = 0.0
        self._trial_running = False
        self._announced = False
        self._lock = threading.Lock()

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        if inspect.iscoroutinefunction(fn):
            return cast("Callable[P, R]", self._wrap_async(fn))

        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            trial = self.before_call()
            try:
                result = fn(*args, **kwargs)
            except BaseException as error:
                self.after_call(error, trial)
                raise
            self.after_call(None, trial)
            return result

        return run

    def _wrap_async(self, fn: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[object, object, T]]:
        @functools.wraps(fn)
        async def run_async(*args: P.args, **kwargs: P.kwargs) -> T:
            trial = self.before_call()
            try:
                result = await fn(*args, **kwargs)
            except BaseException as error:
                self.after_call(error, trial)
                raise
            self.after_call(None, trial)
            return result

        return run_async

    def before_call(self) -> bool:
        """Let a call through (True when it is the half-open trial), or raise BreakerOpen."""
        with self._lock:
            if not self._announced:
                # The monitor learns this instance has the breaker, so "open on 2 of 5" adds up.
                self._announced = self._report(self.state)
            if self.state == OPEN and self.clock() - self.opened_at >= self.reset_timeout:
                self._move(HALF_OPEN)
            if self.state == CLOSED:
                return False
            if self.state == HALF_OPEN and not self._trial_running:
                self._trial_running = True
                return True
        raise BreakerOpen(f"circuit breaker {self.name} is {self.state}")

    def after_call(self, error: BaseException | None, trial: bool = False) -> None:
        with self._lock:
            if trial:
                self._trial_running = False
            if isinstance(error, Rejected) or (error is not None and not isinstance(error, Exception)):
                return  # the call never reached the dependency, or was cancelled
            if error is not None and isinstance(error, self.failures):
                self.failure_count += 1
                if trial or (self.state == CLOSED and self.failure_count >= self.failure_threshold):
                    self.opened_at = self.clock()
                    self._move(OPEN)
                return
            self.failure_count = 0
            if trial:
                self._move(CLOSED)

    def _move(self, state: str) -> None:
        self.state = state
        if state != OPEN:
            self.failure_count = 0
        self._report(state)

    def _report(self, state: str) -> bool:
        reporter = reporter_or_default(self.reporter)
        if reporter is None:
            return False
        reporter.record_breaker(self.name, state)
        return True
