"""timeout(): give up on a call that takes too long, raising CallTimeout."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from .errors import CallTimeout

F = TypeVar("F", bound=Callable[..., Any])


def timeout(seconds: float) -> Callable[[F], F]:
    """Raise CallTimeout when the call has not finished after `seconds`.

    An async call is cancelled. A sync call runs in its own daemon thread, which
    Python cannot stop: it finishes in the background and its result is discarded.
    """

    def decorate(fn: F) -> F:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                try:
                    async with asyncio.timeout(seconds) as scope:
                        return await fn(*args, **kwargs)
                except TimeoutError:
                    if scope.expired():
                        raise CallTimeout(f"{fn.__qualname__} took over {seconds} s") from None
                    raise

            return run_async  # type: ignore[return-value]

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            outcome: dict[str, Any] = {}
            done = threading.Event()

            def call() -> None:
                try:
                    outcome["result"] = fn(*args, **kwargs)
                except BaseException as error:  # handed to the caller below
                    outcome["error"] = error
                finally:
                    done.set()

            context = contextvars.copy_context()
            threading.Thread(target=context.run, args=(call,), name=f"timeout-{fn.__name__}", daemon=True).start()
            if not done.wait(seconds):
                raise CallTimeout(f"{fn.__qualname__} took over {seconds} s")
            if "error" in outcome:
                raise outcome["error"]
            return outcome["result"]

        return run  # type: ignore[return-value]

    return decorate
