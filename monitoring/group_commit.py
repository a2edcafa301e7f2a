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

`OneWriter` is the thread, its queue and the callers' waits; `GroupCommit` is the embedded
writer's way of committing a group (pieces of work, a savepoint each). PostgreSQL's group
writer (group_writers.PostgresGroupWriter) runs its own OneWriter and commits its groups its own way.

Never hang: the queue is bounded and a caller waits a bounded time; both answer
`WriterBusy`, an `OperationalError`, which the API answers with 503 and Retry-After. A
piece given up on before the writer took it is never run, so a refused batch is never
stored behind the client's back.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from django.db import IntegrityError, OperationalError, connection, transaction

log = logging.getLogger(__name__)
R = TypeVar("R")  # the rows a piece defers to the flush
W = TypeVar("W")  # what a piece holds for the writer (GroupCommit: the work to run)

QUEUE_SIZE = 256  # pieces waiting; past it a caller is refused at once
GROUP_ITEMS = 20_000  # a group ends once it holds this many items (or GROUP_PIECES pieces)
GROUP_PIECES = 128
WAIT_S = 10.0  # a caller waits this long for the writer to take its piece, then gives up
RUNNING_WAIT_S = 30.0  # once taken, the piece ends within the database's own timeouts; this bounds it anyway


class WriterBusy(OperationalError):
    """The writer cannot take this now (its queue is full, it is stuck, or it has stopped)."""


class Piece(Generic[W]):
    QUEUED, TAKEN, CANCELLED = "queued", "taken", "cancelled"

    def __init__(self, work: W, items: int) -> None:
        self.work = work
        self.items = items
        self.state = Piece.QUEUED
        self.lock = threading.Lock()
        # Held until the writer is done with it: its caller waits to acquire it. (A lock
        # costs the writer one release; an Event's set takes a condition and its lock.)
        self.done = threading.Lock()
        self.done.acquire()
        self.result: object = None
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


class OneWriter(Generic[W]):
    """One thread that takes what callers submit, a group at a time, and answers each caller
    once `commit(group)` has set its piece's result or error."""

    def __init__(
        self,
        queue_size: int = QUEUE_SIZE,
        wait_s: float = WAIT_S,
        running_wait_s: float = RUNNING_WAIT_S,
    ) -> None:
        self.queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self.wait_s = wait_s
        self.running_wait_s = running_wait_s
        self.thread: threading.Thread | None = None
        self.stopping = False
        self.started_in: int | None = None  # the process the thread was started in
        self.starting = threading.Lock()

    def start(self) -> None:
        self.thread = threading.Thread(target=self.run, name="group-commit", daemon=True)
        self.thread.start()
        self.started_in = os.getpid()
        atexit.register(self.stop)

    def start_once_here(self) -> None:
        """Start the thread unless this process has it already. A server that loads the site
        before forking its workers (gunicorn --preload) hands each one a copy of the writer
        without its thread: each starts its own on its first batch."""
        if self.started_in == os.getpid():
            return
        with self.starting:
            if self.started_in != os.getpid():
                self.queue = queue.Queue(maxsize=self.queue.maxsize)  # nothing queued in another process
                self.stopping = False
                self.start()

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

    def submit(self, work: W, items: int = 1) -> object:
        """What commit() made of work, once the group holding it committed (or its error, raised)."""
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
        return piece.result

    def run(self) -> None:
        stop = False
        while not stop:
            group, stop = self.gather()
            if group:
                try:
                    self.commit(group)
                finally:
                    for piece in group:
                        piece.done.release()
        connection.close()

    def commit(self, group: list[Piece[W]]) -> None:
        """Write and commit the group, setting each piece's result or error."""
        raise NotImplementedError

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


class GroupCommit(OneWriter[Callable[[], object]], Generic[R]):
    """Pieces of work, each run in a savepoint of the group's transaction; rows they defer
    written by `flush` once for the whole group."""

    def __init__(self, flush: Callable[[list[R]], None], **options: float) -> None:
        super().__init__(**options)
        self.flush = flush
        self.deferred: list[R] = []

    def defer(self, rows: R) -> None:
        """Rows for `flush`, kept if the piece running now succeeds (called on the writer thread)."""
        self.deferred.append(rows)

    def commit(self, group: list[Piece]) -> None:
        try:
            self.commit_together(group)
        except Exception as error:  # BEGIN, the flush or COMMIT failed: nothing of the group is stored
            log.warning("group of %d batches not committed", len(group), exc_info=True)
            close_if_broken()
            # One bad batch (a foreign key SQLite checks only at COMMIT) must not sink the rest;
            # a database that cannot take writes (locked, full) fails them all at once.
            alone = len(group) > 1 and isinstance(error, IntegrityError)
            for piece in group:
                if piece.error is None and alone:
                    self.commit_alone(piece)
                elif piece.error is None:
                    piece.result, piece.error = None, error

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


def close_if_broken() -> None:
    """After a failed group: a connection the database dropped is replaced by the next group's."""
    if connection.connection is not None and not connection.is_usable():
        connection.close()
