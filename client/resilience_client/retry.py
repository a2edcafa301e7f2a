"""retry(): call again after a failure, with exponential backoff and jitter."""

from __future__ import annotations

import asyncio
import functools
import inspect
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from .errors import Rejected
from .monitored import note_retry

F = TypeVar("F", bound=Callable[..., Any])


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
    sleep: Callable[[float], Any] | None = None,
) -> Callable[[F], F]:
    """Try the call up to `attempts` times while it raises one of `retry_on`.

    Rejected (breaker open, limit full) is never retried. Under @monitored, the
    number of retries is reported on the call. `sleep` replaces time.sleep (or
    asyncio.sleep for async functions; it may return an awaitable).
    """
    attempts = max(1, attempts)

    def should_retry(error: Exception, attempt: int) -> bool:
        return attempt < attempts and isinstance(error, retry_on) and not isinstance(error, Rejected)

    def decorate(fn: F) -> F:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                for attempt in range(1, attempts + 1):
                    try:
                        return await fn(*args, **kwargs)
                    except Exception as error:
                        if not should_retry(error, attempt):
                            raise
                    delay = delay_before(attempt, base_delay, max_delay, jitter)
                    waited = (sleep or asyncio.sleep)(delay)
                    if inspect.isawaitable(waited):
                        await waited
                    note_retry()

            return run_async  # type: ignore[return-value]

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            for attempt in range(1, attempts + 1):
                try:
                    return fn(*args, **kwargs)
                except Exception as error:
                    if not should_retry(error, attempt):
                        raise
                (sleep or time.sleep)(delay_before(attempt, base_delay, max_delay, jitter))
                note_retry()

        return run  # type: ignore[return-value]

    return decorate
