"""Group commit: one thread owns the write connection and commits many callers' work at once.

On SQLite only one connection may write at a time. Concurrent requests that each open a
write transaction queue on its lock (with a busy-wait that sleeps), so the embedded
server's ingest had seconds of p99 at 8 connections. Here each request hands its work to a
queue and waits; one writer thread takes what has gathered, runs each piece in a savepoint
of one transaction, commits once and wakes the callers. A caller is answered only after
the transaction holding its work committed, with its own result or its own exception:
a piece that fails is rolled back to its savepoint and does not sink the others. Should
the group fail as a whole on an integrity error (at COMMIT, where SQLite checks foreign
keys), each of its pieces is run again in a transaction of its own, so only the bad one
fails; on any other error (the database locked or full) they all fail with it.

Work may `defer()` rows that are cheaper written once for the whole group (the call
buckets every batch adds to); they are kept only when the piece's savepoint is released,
and written by `flush` just before the commit.

Never hang: the queue is bounded and a caller waits a bounded time; both answer
`WriterBusy`, an `OperationalError`, which the API answers with 503 and Retry-After. A
piece given up on before the writer took it is never run, so a refused batch is never
stored behind the client's back.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar, cast

from django.db import IntegrityError, OperationalError, connection, transaction

log = logging.getLogger(__name__)
T = TypeVar("T")  # what a piece of work returns
R = TypeVar("R")  # the rows a piece defers to the flush

QUEUE_SIZE = 256  # pieces waiting; past it a caller is refused at once
GROUP_ITEMS = 20_000  # a group ends once it holds this many items (or GROUP_PIECES pieces)
GROUP_PIECES = 128
WAIT_S = 10.0  # a caller waits this long for the writer to take its piece, then gives up
RUNNING_WAIT_S = 30.0  # once taken, the piece ends within the database's own timeouts; this bounds it anyway


class WriterBusy(OperationalError):
    """The writer cannot take this now (its queue is full, it is stuck, or it has stopped)."""


class Piece(Generic[T]):
    QUEUED, TAKEN, CANCELLED = "queued", "taken", "cancelled"

    def __init__(self, work: Callable[[], T], items: int) -> None:
        self.work = work
        self.items = items
        self.state = Piece.QUEUED
        self.lock = threading.Lock()
        # Held until the writer is done with it: its caller waits to acquire it. (A lock
        # costs the writer one release; an Event's set takes a condition and its lock.)
        self.done = threading.Lock()
        self.done.acquire()
        self.result: T | None = None
        self.error: BaseException | None = None

    def take(self) -> bool:
        """The writer takes it, unless its caller has given up on it."""
        with self.lock:
            if self.state == Piece.CANCELLED:
                return False
            self.state = Piece.TAKEN
            return True

    def cancel(self) -> bool:
        """The caller gives up; False when the writer has already taken it."""
        with self.lock:
            if self.state == Piece.TAKEN:
                return False
            self.state = Piece.CANCELLED
            return True


STOP = object()


class GroupCommit(Generic[R]):
    def __init__(
        self,
        flush: Callable[[list[R]], None],
        queue_size: int = QUEUE_SIZE,
        wait_s: float = WAIT_S,
        running_wait_s: float = RUNNING_WAIT_S,
    ) -> None:
        self.flush = flush
        self.queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self.wait_s = wait_s
        self.running_wait_s = running_wait_s
        self.thread: threading.Thread | None = None
        self.stopping = False
        self.deferred: list[R] = []

    def start(self) -> None:
        self.thread = threading.Thread(target=self.run, name="group-commit", daemon=True)
        self.thread.start()
        atexit.register(self.stop)

    def stop(self, timeout: float = 30.0) -> None:
        """Refuse new work, commit what is queued, end the thread."""
        if self.thread is None or self.stopping:
            return
        self.stopping = True
        try:
            self.queue.put(STOP, timeout=timeout)  # waits while the queue is full: the writer is draining it
        except queue.Full:
            log.warning("the writer did not drain its queue within %g s", timeout)
            return
        self.thread.join(timeout)

    def submit(self, work: Callable[[], T], items: int = 1) -> T:
        """work() run in a transaction (a savepoint of the group's); its result once committed."""
        if self.stopping:
            raise WriterBusy("the writer is stopping")
        piece = Piece(work, items)
        try:
            self.queue.put_nowait(piece)
        except queue.Full:
            raise WriterBusy(f"the writer's queue is full ({self.queue.maxsize} batches waiting)") from None
        if not piece.done.acquire(timeout=self.wait_s) and (
            piece.cancel() or not piece.done.acquire(timeout=self.running_wait_s)  # taken: it ends soon
        ):
            raise WriterBusy(f"the writer did not get to this within {self.wait_s:g} s")
        if piece.error is not None:
            raise piece.error
        return cast(T, piece.result)  # set by the writer, as no error was

    def defer(self, rows: R) -> None:
        """Rows for `flush`, kept if the piece running now succeeds (called on the writer thread)."""
        self.deferred.append(rows)

    def run(self) -> None:
        stop = False
        while not stop:
            group, stop = self.gather()
            if group:
                self.commit(group)
        connection.close()

    def gather(self) -> tuple[list[Piece], bool]:
        """What has queued up (waiting for the first), up to GROUP_PIECES or GROUP_ITEMS."""
        group: list[Piece] = []
        items = 0
        first = self.queue.get()
        while True:
            if first is STOP:
                return group, True
            if first.take():
                group.append(first)
                items += first.items
            if len(group) >= GROUP_PIECES or items >= GROUP_ITEMS:
                return group, False
            try:
                first = self.queue.get_nowait()
            except queue.Empty:
                return group, False

    def commit(self, group: list[Piece]) -> None:
        try:
            self.commit_together(group)
        except Exception as error:  # BEGIN, the flush or COMMIT failed: nothing of the group is stored
            log.warning("group of %d batches not committed", len(group), exc_info=True)
            if connection.connection is not None and not connection.is_usable():
                connection.close()
            # One bad batch (a foreign key SQLite checks only at COMMIT) must not sink the rest;
            # a database that cannot take writes (locked, full) fails them all at once.
            alone = len(group) > 1 and isinstance(error, IntegrityError)
            for piece in group:
                if piece.error is None and alone:
                    self.commit_alone(piece)
                elif piece.error is None:
                    piece.result, piece.error = None, error
        finally:
            for piece in group:
                piece.done.release()

    def commit_together(self, group: list[Piece]) -> None:
        kept: list[R] = []
        with transaction.atomic():
            for piece in group:
                self.run_piece(piece, kept)
            if transaction.get_rollback():
                raise OperationalError("the group's transaction was broken by a failed batch")
            if kept:
                self.flush(kept)

    def commit_alone(self, piece: Piece) -> None:
        piece.result = None
        try:
            self.commit_together([piece])
        except Exception as error:  # the caller's to answer: it is raised again in the caller's thread
            log.debug("batch not committed alone", exc_info=True)
            piece.result, piece.error = None, error

    def run_piece(self, piece: Piece, kept: list[R]) -> None:
        self.deferred = []
        try:
            with transaction.atomic():  # a savepoint: a failure here rolls back this piece alone
                piece.result = piece.work()
        except Exception as error:  # the caller's to answer: it is raised again in the caller's thread
            log.debug("batch refused in a group", exc_info=True)
            piece.error = error
        else:
            kept.extend(self.deferred)
