"""The reporter: buffers what a service records and sends it to the monitor in batches.

Nothing here raises into the host program or blocks it: the record_* methods check
their arguments and append to a bounded buffer under a lock; one daemon thread sends.
"""

from __future__ import annotations

import atexit
import logging
import os
import random
import socket
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from typing import TypedDict

from . import items
from .items import Timestamp
from .transport import Answer, Batch, post

log = logging.getLogger("resilience_client")

# A Retry-After longer than this is taken as this: the buffer keeps filling meanwhile.
MAX_RETRY_AFTER_S = 300.0

_open_reporters: weakref.WeakSet[Reporter] = weakref.WeakSet()


def backoff(attempt: int, retry_after: float | None, base: float, cap: float) -> float:
    """Exponential backoff with jitter (half fixed, half random), at least Retry-After."""
    ceiling = min(cap, base * 2 ** (attempt - 1))
    delay = random.uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER_S))
    return delay


def retryable(status: int) -> bool:
    # 0 is a network error: refused, reset, timed out.
    return status in (0, 408, 429) or status >= 500


class Options(TypedDict, total=False):
    """Reporter's keyword options, for configure() to pass on."""

    instance: str | None
    flush_interval: float
    max_batch: int
    max_buffer: int
    timeout: float
    base_backoff: float
    max_backoff: float


class Reporter:
    """Sends calls, breaker transitions, concurrency gauges and queue snapshots to a monitor.

    Memory is bounded: at most max_buffer items wait, plus one batch in flight. When
    the buffer is full, new items are dropped and counted. Concurrency gauges are the
    one thing folded: only the latest per function waits, as the monitor keeps only that.
    """

    def __init__(
        self,
        url: str,
        token: str,
        instance: str | None = None,
        flush_interval: float = 2.0,
        max_batch: int = 1000,
        max_buffer: int = 10000,
        timeout: float = 5.0,
        base_backoff: float = 0.5,
        max_backoff: float = 30.0,
    ) -> None:
        self.url = url.rstrip("/") + "/api/v1/ingest"
        self.token = token
        self.instance = items.name(instance or socket.gethostname()[: items.MAX_NAME] or "unknown")
        self.flush_interval = flush_interval
        self.max_batch = max(1, max_batch)
        self.max_buffer = max(1, max_buffer)
        self.timeout = timeout
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._buffer: deque[tuple[str, dict]] = deque()
        self._gauges: dict[str, dict] = {}
        self._in_flight = 0
        self._flushing = False
        self._closing = False
        self._abandoned = False
        self._counts = {"sent": 0, "dropped": 0, "retried": 0, "failed": 0, "batches": 0}
        self._warned: set[str] = set()
        self._thread: threading.Thread | None = None
        _open_reporters.add(self)

    # Recording: called by the host program, so never raises and never waits.

    def record_call(
        self,
        function: str,
        duration_ms: float,
        outcome: str = "success",
        error_type: str | None = None,
        retries: int = 0,
        ts: Timestamp = None,
    ) -> None:
        self._record("calls", items.call, function, duration_ms, outcome, error_type, retries, ts)

    def record_breaker(self, function: str, state: str, ts: Timestamp = None) -> None:
        self._record("breakers", items.breaker, function, state, ts)

    def record_concurrency(self, function: str, active: int, limit: int, queued: int = 0, ts: Timestamp = None) -> None:
        self._record("concurrency", items.concurrency, function, active, limit, queued, ts)

    def record_queue(
        self,
        queue: str,
        depth: int,
        in_flight: int = 0,
        dead_letter: int = 0,
        oldest_age_s: float | None = None,
        ts: Timestamp = None,
    ) -> None:
        self._record("queues", items.queue, queue, depth, in_flight, dead_letter, oldest_age_s, ts)

    def _record(self, kind: str, build: Callable[..., dict], *args: object) -> None:
        try:
            item = build(*args)
        except (TypeError, ValueError, OverflowError, OSError) as error:  # OSError: a ts out of range
            self._reject(kind, error)
            return
        self._add(kind, item)

    def _reject(self, kind: str, error: Exception) -> None:
        with self._lock:
            self._counts["dropped"] += 1
            first = kind not in self._warned
            self._warned.add(kind)
        if first:
            log.warning("resilience_client: dropped one of %s the monitor would refuse: %s", kind, error)

    def _add(self, kind: str, item: dict) -> None:
        with self._changed:
            if self._closing:
                self._counts["dropped"] += 1
                return
            replaces = kind == "concurrency" and item["function"] in self._gauges
            if not replaces and len(self._buffer) + len(self._gauges) >= self.max_buffer:
                self._counts["dropped"] += 1
                return
            if kind == "concurrency":
                self._gauges[item["function"]] = item
            else:
                self._buffer.append((kind, item))
            if len(self._buffer) + len(self._gauges) >= self.max_batch:
                self._changed.notify_all()
        self._ensure_sender()

    def _ensure_sender(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is not None:
                return
            thread = threading.Thread(target=self._run, name="resilience-reporter", daemon=True)
            try:
                thread.start()
            except RuntimeError as error:  # out of threads, or the interpreter is shutting down
                log.warning("resilience_client: cannot start the sender thread: %s", error)
                return
            self._thread = thread

    def _after_fork(self) -> None:
        """In a forked child: the items waiting are the parent's to send, and the parent's
        sender thread and lock state did not come along. Start afresh."""
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._buffer.clear()
        self._gauges.clear()
        self._in_flight = 0
        self._flushing = False
        self._counts = dict.fromkeys(self._counts, 0)
        self._thread = None

    # Control, for the host program.

    def stats(self) -> dict[str, int]:
        """sent/dropped items, retried sends, failed (refused) batches, pending items, batches sent."""
        with self._lock:
            pending = len(self._buffer) + len(self._gauges) + self._in_flight
            return {**self._counts, "pending": pending}

    def flush(self, timeout: float = 5.0) -> bool:
        """Send everything recorded so far; True when it all got an answer within timeout."""
        self._ensure_sender()
        deadline = time.monotonic() + timeout
        with self._changed:
            self._flushing = True
            self._changed.notify_all()
            while self._buffer or self._gauges or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._abandoned:
                    return False
                self._changed.wait(remaining)
            self._flushing = False
            return True

    def close(self, timeout: float = 5.0) -> bool:
        """Flush and stop. What is still unsent after timeout is dropped and counted."""
        return close_all([self], timeout)

    def _stop_taking(self) -> None:
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        _open_reporters.discard(self)

    def _give_up(self, deadline: float) -> bool:
        """Wait for the sender until deadline; count what it did not send as dropped."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._changed:
            unsent = len(self._buffer) + len(self._gauges) + self._in_flight
            if unsent:
                self._abandoned = True
                self._counts["dropped"] += unsent
                self._buffer.clear()
                self._gauges.clear()
                self._in_flight = 0
                self._changed.notify_all()
            return not self._abandoned

    # The sender thread.

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            try:
                self._deliver(batch)
            except Exception:  # a bug here must not stop the sending for good
                log.exception("resilience_client: dropped a batch of %d items", len(batch.items))
                self._finish(batch, sent=False)

    def _next_batch(self) -> Batch | None:
        with self._changed:
            deadline = time.monotonic() + self.flush_interval
            while True:
                waiting = len(self._buffer) + len(self._gauges)
                if self._abandoned or (self._closing and not waiting):
                    return None
                now = time.monotonic()
                urgent = self._closing or self._flushing or waiting >= self.max_batch
                if waiting and (urgent or now >= deadline):
                    break
                if now >= deadline:
                    deadline = now + self.flush_interval
                self._changed.wait(deadline - now)
            items = [self._buffer.popleft() for _ in range(min(len(self._buffer), self.max_batch))]
            while self._gauges and len(items) < self.max_batch:
                items.append(("concurrency", self._gauges.pop(next(iter(self._gauges)))))
            self._in_flight = len(items)
        return Batch(items, self.instance)

    def _deliver(self, batch: Batch) -> None:
        attempt = 0
        while True:
            answer = post(self.url, self.token, batch.body, self.timeout)
            if answer.ok:
                self._finish(batch, sent=True)
                return
            if answer.status == 413 and len(batch.items) > 1:
                # Nothing of a 413 batch was stored: send it again as two smaller ones.
                for half in batch.halves():
                    self._deliver(half)
                return
            if not retryable(answer.status):
                self._refused(batch, answer)
                return
            attempt += 1
            if not self._pause(backoff(attempt, answer.retry_after, self.base_backoff, self.max_backoff)):
                return
            with self._lock:
                self._counts["retried"] += 1

    def _pause(self, seconds: float) -> bool:
        """Wait before a retry; False when close() gave up on the batch meanwhile."""
        deadline = time.monotonic() + seconds
        with self._changed:
            while not self._abandoned:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return True
                self._changed.wait(remaining)
            return False

    def _refused(self, batch: Batch, answer: Answer) -> None:
        log.warning(
            "resilience_client: the monitor refused a batch of %d items with %d: %s",
            len(batch.items),
            answer.status,
            answer.detail,
        )
        self._finish(batch, sent=False)

    def _finish(self, batch: Batch, sent: bool) -> None:
        with self._changed:
            if self._abandoned:
                return  # close() already counted these items as dropped
            self._in_flight = max(0, self._in_flight - len(batch.items))
            if sent:
                self._counts["sent"] += len(batch.items)
                self._counts["batches"] += 1
            else:
                self._counts["dropped"] += len(batch.items)
                self._counts["failed"] += 1
            if not (self._buffer or self._gauges or self._in_flight):
                self._flushing = False
            self._changed.notify_all()


def close_all(reporters: Iterable[Reporter], timeout: float) -> bool:
    """Close several reporters together, within one timeout for all of them."""
    reporters = list(reporters)
    deadline = time.monotonic() + timeout
    for reporter in reporters:
        reporter._stop_taking()
    return all([reporter._give_up(deadline) for reporter in reporters])


def _after_fork_in_child() -> None:
    for reporter in list(_open_reporters):
        reporter._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _close_open_reporters() -> None:
    # A last two seconds to send what the host program recorded before it exited.
    close_all(_open_reporters, 2.0)
