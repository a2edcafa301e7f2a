"""timeout(): give up on a call that takes too long, raising CallTimeout."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import threading
from collections.abc import Awaitable, Callable, Coroutine
from types import TracebackType
from typing import Generic, ParamSpec, TypeVar, cast

from .errors import CallTimeout

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


class _Outcome(Generic[R]):
    """A call's result or exception, caught in the thread that ran it, for the caller's thread.

    `with outcome:` around the call keeps whatever it raised, BaseExceptions included (a
    sys.exit() in the call exits the caller, as it would without timeout()); get() returns
    the result or raises that exception in the caller.
    """

    def __init__(self) -> None:
        self.result: R | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()

    def __enter__(self) -> _Outcome[R]:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> bool:
        self.error = error
        self.done.set()
        return True  # raised again by get(), in the caller's thread

    def get(self) -> R:
        if self.error is not None:
            raise self.error
        return cast("R", self.result)


def timeout(seconds: float) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Raise CallTimeout when the call has not finished after `seconds`.

    An async call is cancelled. A sync call runs in its own daemon thread, which
    Python cannot stop: it finishes in the background and its result is discarded.
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        if inspect.iscoroutinefunction(fn):
            return cast("Callable[P, R]", decorate_async(fn))

        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            outcome: _Outcome[R] = _Outcome()

            def call() -> None:
                with outcome:
                    outcome.result = fn(*args, **kwargs)

            context = contextvars.copy_context()
            threading.Thread(target=context.run, args=(call,), name=f"timeout-{fn.__name__}", daemon=True).start()
            if not outcome.done.wait(seconds):
                raise CallTimeout(f"{fn.__qualname__} took over {seconds} s")
            return outcome.get()

        return run

    def decorate_async(fn: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[object, object, T]]:
        @functools.wraps(fn)
        async def run_async(*args: P.args, **kwargs: P.kwargs) -> T:
            try:
                async with asyncio.timeout(seconds) as scope:
                    return await fn(*args, **kwargs)
            except TimeoutError:
                if scope.expired():
                    raise CallTimeout(f"{fn.__qualname__} took over {seconds} s") from None
                raise

        return run_async

    return decorate
