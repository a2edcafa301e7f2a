"""pybreaker: a listener that reports a breaker's state changes and the calls through it.

    listener = BreakerListener()
    breaker = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=30, name="invokeGroq", listeners=[listener])

    @listener.guard(breaker)          # in place of @breaker: also reports the calls it refuses
    def invoke_groq(...): ...

pybreaker tells a listener about every call that runs and every state change, but not
about a call an open breaker refuses (it raises CircuitBreakerError before any listener
hears of it): guard() / call() go through the breaker as @breaker / breaker.call do, and
report such a refusal as a `rejected` call.
"""

from __future__ import annotations

import functools
import logging
import sys
import threading
import time
import weakref
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import pybreaker

from ..config import reporter_or_default
from ..monitored import outcome_of
from ..reporter import Reporter

log = logging.getLogger("resilience_client")

P = ParamSpec("P")
R = TypeVar("R")

# pybreaker's state names to the monitor's.
STATES = {pybreaker.STATE_CLOSED: "closed", pybreaker.STATE_OPEN: "open", pybreaker.STATE_HALF_OPEN: "half_open"}


class BreakerListener(pybreaker.CircuitBreakerListener):
    """Reports, for each breaker it listens to (named `function`, else the breaker's name):

    - its state on first contact and every state change (closed, open, half_open), as
      this reporter's instance, so the monitor shows "open on 2 of 5 instances";
    - each call that ran: success, or failure/timeout with the exception's class name,
      timed from pybreaker's before_call to its success/failure;
    - through guard()/call(), each call the open breaker refused: rejected.

    An exception the breaker excludes (`exclude=[...]`) does not count against the
    breaker, and pybreaker tells listeners it succeeded; the call did raise it, so it is
    reported as a failure with its class name, as @monitored would report it.
    """

    def __init__(
        self,
        function: str | None = None,
        reporter: Reporter | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.function = function
        self.reporter = reporter
        self.clock = clock
        self._local = threading.local()
        self._lock = threading.Lock()
        self._announced: weakref.WeakSet[pybreaker.CircuitBreaker] = weakref.WeakSet()
        self._unnamed_warned = False

    # pybreaker's callbacks.

    def before_call(
        self, cb: pybreaker.CircuitBreaker, func: Callable[..., object], *args: object, **kwargs: object
    ) -> None:
        self._announce(cb)
        local = self._thread_state()
        local.entered += 1
        # The exception already being handled around the call, to tell it from the call's own.
        local.calls.append((cb, self.clock(), sys.exc_info()[1]))

    def success(self, cb: pybreaker.CircuitBreaker) -> None:
        started, outer = self._pop(cb)
        handled = sys.exc_info()[1]
        # pybreaker reports an excluded exception as a success, from inside its except block.
        error = handled if handled is not None and handled is not outer else None
        self._record_call(cb, started, error)

    def failure(self, cb: pybreaker.CircuitBreaker, exc: BaseException) -> None:
        started, _ = self._pop(cb)
        self._record_call(cb, started, exc)

    def state_change(
        self,
        cb: pybreaker.CircuitBreaker,
        old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:
        with self._lock:
            self._announced.add(cb)
        self._record_state(cb, new_state.name)

    # Calls that also report refusals.

    def call(self, cb: pybreaker.CircuitBreaker, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """cb.call(func, *args, **kwargs), reporting a refused call as rejected."""
        if self not in cb.listeners:
            cb.add_listener(self)  # without it, a refusal could not be told from a trip
        local = self._thread_state()
        entered = local.entered
        started = self.clock()
        try:
            return cb.call(func, *args, **kwargs)
        except pybreaker.CircuitBreakerError as error:
            # Raised when the call ran and tripped the breaker too: then failure() reported it.
            if local.entered == entered:
                self._announce(cb)
                self._record(cb, self.clock() - started, "rejected", type(error).__name__)
            raise

    def guard(self, cb: pybreaker.CircuitBreaker) -> Callable[[Callable[P, R]], Callable[P, R]]:
        """A decorator to use in place of `@cb`: the same, plus refused calls reported."""

        def decorate(fn: Callable[P, R]) -> Callable[P, R]:
            @functools.wraps(fn)
            def run(*args: P.args, **kwargs: P.kwargs) -> R:
                return self.call(cb, fn, *args, **kwargs)

            return run

        return decorate

    # Inside.

    def _thread_state(self) -> threading.local:
        local = self._local
        if not hasattr(local, "calls"):
            local.calls = []
            local.entered = 0
        return local

    def _pop(self, cb: pybreaker.CircuitBreaker) -> tuple[float | None, BaseException | None]:
        calls = self._thread_state().calls
        for index in range(len(calls) - 1, -1, -1):
            if calls[index][0] is cb:
                _, started, outer = calls.pop(index)
                return started, outer
        return None, None  # a call that began before this listener was added

    def _announce(self, cb: pybreaker.CircuitBreaker) -> None:
        with self._lock:
            if cb in self._announced:
                return
            self._announced.add(cb)
        # The monitor learns this instance has the breaker, so "open on 2 of 5" adds up.
        self._record_state(cb, cb.current_state)

    def _name(self, cb: pybreaker.CircuitBreaker) -> str | None:
        name = self.function or cb.name
        if not name and not self._unnamed_warned:
            self._unnamed_warned = True
            log.warning("resilience_client: a pybreaker breaker without a name reports nothing: give it name=...")
        return name or None

    def _record_state(self, cb: pybreaker.CircuitBreaker, state: str) -> None:
        reporter = reporter_or_default(self.reporter)
        name = self._name(cb)
        if reporter is not None and name is not None and state in STATES:
            reporter.record_breaker(name, STATES[state])

    def _record_call(self, cb: pybreaker.CircuitBreaker, started: float | None, error: BaseException | None) -> None:
        if error is not None and not isinstance(error, Exception):
            return  # KeyboardInterrupt, SystemExit, cancellation: not the call's outcome
        elapsed = self.clock() - started if started is not None else 0.0
        self._record(cb, elapsed, outcome_of(error), type(error).__name__ if error is not None else None)

    def _record(self, cb: pybreaker.CircuitBreaker, seconds: float, outcome: str, error_type: str | None) -> None:
        reporter = reporter_or_default(self.reporter)
        name = self._name(cb)
        if reporter is not None and name is not None:
            reporter.record_call(name, max(0.0, seconds * 1000.0), outcome, error_type=error_type)
