"""retry(): call again after a failure, with exponential backoff and jitter."""

from __future__ import annotations

import asyncio
import functools
import inspect
import random
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import ParamSpec, TypeVar, cast

from .errors import Rejected
from .monitored import note_retry

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


def delay_before(retry: int, base_delay: float, max_delay: float, jitter: float) -> float:
    """Seconds before retry number `retry` (1, 2, ...): base_delay doubled each time, capped
    at max_delay, less a random part of up to `jitter` of it (0 = none, 1 = full jitter)."""
    ceiling = min(max_delay, base_delay * 2 ** (retry - 1))
    return ceiling * (1.0 - jitter * random.random())


def retry(
    attempts: int = 3,
    base_delay: float = 0.1,
    max_delay: float = 10.0,
    jitter: float = 1.0,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
    sleep: Callable[[float], object] | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Try the call up to `attempts` times while it raises one of `retry_on`.

    Rejected (breaker open, limit full) is never retried. Under @monitored, the
    number of retries is reported on the call. `sleep` replaces time.sleep (or
    asyncio.sleep for async functions; it may return an awaitable).
    """
    attempts = max(1, attempts)

    def should_retry(error: Exception, attempt: int) -> bool:
        return attempt < attempts and isinstance(error, retry_on) and not isinstance(error, Rejected)

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        if inspect.iscoroutinefunction(fn):
            return cast("Callable[P, R]", decorate_async(fn))

        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            attempt = 1
            while True:  # the last attempt returns or raises
                try:
                    return fn(*args, **kwargs)
                except Exception as error:
                    if not should_retry(error, attempt):
                        raise
                (sleep or time.sleep)(delay_before(attempt, base_delay, max_delay, jitter))
                note_retry()
                attempt += 1

        return run

    def decorate_async(fn: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[object, object, T]]:
        @functools.wraps(fn)
        async def run_async(*args: P.args, **kwargs: P.kwargs) -> T:
            attempt = 1
            while True:  # the last attempt returns or raises
                try:
                    return await fn(*args, **kwargs)
                except Exception as error:
                    if not should_retry(error, attempt):
                        raise
                waited = (sleep or asyncio.sleep)(delay_before(attempt, base_delay, max_delay, jitter))
                if inspect.isawaitable(waited):
                    await waited
                note_retry()
                attempt += 1

        return run_async

    return decorate
