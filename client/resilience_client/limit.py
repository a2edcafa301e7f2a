"""ConcurrencyLimit: at most `limit` calls at once; reports active/limit/queued."""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import ParamSpec, TypeVar, cast

from .config import reporter_or_default
from .errors import LimitFull
from .reporter import Reporter

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


class _ThreadWaiter:
    def __init__(self) -> None:
        self.woken = False
        self.event = threading.Event()

    def wake(self) -> None:
        self.woken = True
        self.event.set()


class _TaskWaiter:
    def __init__(self) -> None:
        self.woken = False
        self.loop = asyncio.get_running_loop()
        self.future: asyncio.Future[None] = self.loop.create_future()

    def wake(self) -> None:
        self.woken = True
        self.loop.call_soon_threadsafe(self._resolve)

    def _resolve(self) -> None:
        if not self.future.done():
            self.future.set_result(None)


Waiter = TypeVar("Waiter", _ThreadWaiter, _TaskWaiter)


class ConcurrencyLimit:
    """Let at most `limit` calls run at once. Up to `max_queued` more wait (in order,
    at most `queue_timeout` seconds, None = no limit) for a slot; past that, a call is
    rejected with LimitFull. Works for threads and asyncio tasks alike.

    Use it as a decorator, as `with limit:` / `async with limit:`, or call
    acquire()/release() yourself.
    """

    def __init__(
        self,
        name: str,
        limit: int,
        max_queued: int = 0,
        queue_timeout: float | None = None,
        reporter: Reporter | None = None,
    ) -> None:
        self.name = name
        self.limit = max(1, limit)
        self.max_queued = max(0, max_queued)
        self.queue_timeout = queue_timeout
        self.reporter = reporter
        self.active = 0
        self._waiters: deque[_ThreadWaiter | _TaskWaiter] = deque()
        self._lock = threading.Lock()

    @property
    def queued(self) -> int:
        return len(self._waiters)

    def acquire(self) -> None:
        with self._lock:
            if self._take():
                return
            waiter = self._enqueue(_ThreadWaiter())
        waiter.event.wait(self.queue_timeout)
        self._settle(waiter)

    async def acquire_async(self) -> None:
        with self._lock:
            if self._take():
                return
            waiter = self._enqueue(_TaskWaiter())
        try:
            await asyncio.wait_for(asyncio.shield(waiter.future), self.queue_timeout)
        except TimeoutError:
            pass
        except asyncio.CancelledError:
            self._settle(waiter, cancelled=True)
            raise
        self._settle(waiter)

    def release(self) -> None:
        with self._lock:
            if self._waiters:
                self._waiters.popleft().wake()  # the slot passes straight to the next waiter
            else:
                self.active = max(0, self.active - 1)
            self._report()

    def _take(self) -> bool:
        if self.active < self.limit and not self._waiters:
            self.active += 1
            self._report()
            return True
        if len(self._waiters) >= self.max_queued:
            raise LimitFull(f"concurrency limit {self.name} is full: {self.active} of {self.limit} active")
        return False

    def _enqueue(self, waiter: Waiter) -> Waiter:
        self._waiters.append(waiter)
        self._report()
        return waiter

    def _settle(self, waiter: _ThreadWaiter | _TaskWaiter, cancelled: bool = False) -> None:
        """After waiting: keep the slot it was handed, or leave the queue and fail."""
        with self._lock:
            if not waiter.woken:
                self._waiters.remove(waiter)
                self._report()
        if waiter.woken and not cancelled:
            return
        if waiter.woken:
            self.release()  # handed a slot, but the task was cancelled meanwhile
            return
        if not cancelled:
            raise LimitFull(f"concurrency limit {self.name}: no slot within {self.queue_timeout} s")

    def _report(self) -> None:
        reporter = reporter_or_default(self.reporter)
        if reporter is not None:
            reporter.record_concurrency(self.name, self.active, self.limit, len(self._waiters))

    def __enter__(self) -> ConcurrencyLimit:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    async def __aenter__(self) -> ConcurrencyLimit:
        await self.acquire_async()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        if inspect.iscoroutinefunction(fn):
            return cast("Callable[P, R]", self._wrap_async(fn))

        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            with self:
                return fn(*args, **kwargs)

        return run

    def _wrap_async(self, fn: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[object, object, T]]:
        @functools.wraps(fn)
        async def run_async(*args: P.args, **kwargs: P.kwargs) -> T:
            async with self:
                return await fn(*args, **kwargs)

        return run_async
