"""The group writers: one thread of the process writes many requests' batches at once
(`group_commit.py` is the thread and its queue; `writers.py` the engines' statements).

- `GroupCommitWriter`, the embedded server's on SQLite: every batch, each in a savepoint of
  the group's transaction, the group's call rows merged and written once before the commit.
- `PostgresGroupWriter`, PostgreSQL's (MONITOR_GROUP_COMMIT): the steady batches only, a
  group's claims and merged rows in one statement and one commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar, cast

import orjson
from django.db import IntegrityError, transaction

from .error_types import ErrorFold, TypedErrors
from .fold import FunctionFold, Functions, Minutes
from .group_commit import GroupCommit, OneWriter, Piece, close_if_broken
from .models import IngestBatch
from .outcomes import KEEP
from .writers import (
    BucketRows,
    CallRows,
    PostgresWriter,
    SqliteWriter,
    SteadyBatch,
    Strips,
    bucket_rows,
    calls_tables,
)

T = TypeVar("T")
log = logging.getLogger(__name__)


def encoded_fold(last_seen: datetime, strip: str) -> FunctionFold:
    """A function's fold standing for several batches': their strips already joined, no calls."""
    return FunctionFold(last_seen, [], {}, {}, encoded=strip)  # the strip given, not worked out from calls


def merge_rows(batches: list[CallRows]) -> CallRows:
    """Batches' call rows as one batch's, in their order: counts and histograms added, the
    latency maximum and the errors' first and last seen kept, strips joined and cut to the
    strip's length (what the upserts would store applying them one after another). The
    batches' own folds are left as they were."""
    functions: Functions = {}
    for batch in batches:
        for function_id, fold in batch.functions.items():
            known = functions.get(function_id)
            if known is None:
                functions[function_id] = encoded_fold(fold.last_seen, fold.strip)
            else:
                known.last_seen = max(known.last_seen, fold.last_seen)
                known.encoded = (known.strip + fold.strip)[-KEEP:]
    return CallRows(functions, merged_minutes(batches), merged_errors(batches))


def merge_bucket_rows(batches: list[BucketRows]) -> BucketRows:
    """merge_rows for PostgreSQL's rows, whose strips are kept by (function, minute)."""
    strips: Strips = {}
    for batch in batches:
        for key, strip in batch.strips.items():
            strips[key] = (strips.get(key, "") + strip)[-KEEP:]
    return BucketRows(strips, merged_minutes(batches), merged_errors(batches))


def merged_minutes(batches: list[CallRows] | list[BucketRows]) -> Minutes:
    minutes: Minutes = {}
    for batch in batches:
        for key, fold in batch.minutes.items():
            into = minutes.get(key)
            if into is None:
                minutes[key] = fold.copy()
            else:
                into.add(fold)
    return minutes


def merged_errors(batches: list[CallRows] | list[BucketRows]) -> TypedErrors:
    errors: TypedErrors = {}
    for batch in batches:
        for key, fold in batch.errors.items():
            seen = errors.get(key)
            if seen is None:
                errors[key] = ErrorFold(fold.count, fold.first_seen, fold.last_seen)
            else:
                seen.add(fold)
    return errors


class GroupCommitWriter(SqliteWriter):
    """SQLite on the embedded server: every batch goes through one writer thread (`group_commit`),
    which runs many batches in one transaction and writes their call rows once for all of them."""

    def __init__(self, **options: float) -> None:
        self.group = GroupCommit(flush=self.write_group, **options)  # options: queue_size, wait_s (tests)

    @classmethod
    def write_group(cls, batches: list[CallRows]) -> None:
        """The group's batches folded into one set of rows, then written: a function's minute
        that many batches add to is one row of each upsert, not one per batch (the same sums
        as applying them one after another, with far fewer histograms merged in SQL)."""
        cls.write_all([merge_rows(batches)] if len(batches) > 1 else batches)

    def committed(self, work: Callable[[], T], items: int = 1) -> T:
        """work() run by the writer thread in a savepoint of a group's transaction; its result once
        that transaction committed (WriterBusy, a 503, when the writer cannot take it in time)."""
        return cast(T, self.group.submit(work, items))  # work's result, as no error was raised

    def write_calls(self, functions: Functions, minutes: Minutes, errors: TypedErrors, shard: int) -> None:
        for fold in functions.values():
            fold.encode_strip()  # here, by the request's thread, not by the one writer thread
        self.group.defer(CallRows(functions, minutes, errors))

    one_statement = True  # a steady batch: its claim, and its rows kept for the group's upserts

    def claim_and_write_calls(
        self, service_id: int, key: str | None, body_digest: str, answer: dict, rows: CallRows
    ) -> bool:
        """Claim the key (if any) and keep the calls' rows for the group's upserts, in the
        piece's savepoint; False, with nothing kept, when the key was already held (the
        general path then answers the replay or the 409)."""
        if key is not None and not self.claim(service_id, key, body_digest, answer):
            return False
        self.group.defer(rows)
        return True


class PostgresGroupWriter(PostgresWriter):
    """PostgreSQL with MONITOR_GROUP_COMMIT: a process's steady batches are written by one
    thread, a group at a time, in one statement and one commit: the group's claims, and its
    bucket rows and errors by type merged. Every other batch is written as without it, in its
    request's own transaction (PostgreSQL takes concurrent writers; only the steady path's
    statement a batch was worth sharing)."""

    # The claims of a group and its merged rows, written only when every claim is new: a key
    # already held (a replay, or the same batch twice in the group) leaves the whole statement
    # unwritten, rolled back, and the group's batches are then written one by one.
    GROUP_CLAIMED_CALLS = (
        """
    WITH claim AS (
        INSERT INTO {batches} (service_id, key, body_digest, answer, created)
        SELECT c.service_id, c.key, c.digest, c.answer, now()
        FROM jsonb_to_recordset(%(claims_json)s::jsonb) AS c(service_id bigint, key text, digest text, answer jsonb)
        ORDER BY c.service_id, c.key
        ON CONFLICT (service_id, key) DO NOTHING RETURNING id
    ), go AS (SELECT (SELECT count(*) FROM claim) = %(claims)s AS ok),"""
        + PostgresWriter.CALLS.replace("{guard}", "WHERE (SELECT ok FROM go)")
        + "SELECT ok FROM go"
    )

    def __init__(self, **options: float) -> None:
        self.group = SteadyWrites(self, **options)  # options: queue_size, wait_s (tests)

    def claim_and_write_calls(
        self, service_id: int, key: str | None, body_digest: str, answer: dict, rows: CallRows
    ) -> bool:
        """As PostgresWriter's, answered once the group holding the batch committed."""
        self.group.start_once_here()
        steady = SteadyBatch(service_id, key, body_digest, answer, bucket_rows(rows))
        return cast(bool, self.group.submit(steady, answer["accepted"]["calls"]))

    def write_together(self, batches: list[SteadyBatch]) -> bool:
        """The batches' claims and merged rows in one transaction; False, with nothing written,
        when any key was already held."""
        rows = merge_bucket_rows([batch.rows for batch in batches])
        params = self.calls_params(rows.strips, rows.minutes, rows.errors, self.pick_shard())
        claims = [
            {"service_id": batch.service_id, "key": batch.key, "digest": batch.body_digest, "answer": batch.answer}
            for batch in batches
            if batch.key is not None
        ]
        params.update(claims=len(claims), claims_json=orjson.dumps(claims).decode())
        sql = self.GROUP_CLAIMED_CALLS.format(**calls_tables(), batches=IngestBatch._meta.db_table)
        with transaction.atomic():
            written = self.execute_bound(sql, params)[0]
            if not written:
                transaction.set_rollback(True)  # the new claims it made go too
        return written


class SteadyWrites(OneWriter[SteadyBatch]):
    """PostgresGroupWriter's thread: a group written together when it can be, else one by one."""

    def __init__(self, writer: PostgresGroupWriter, **options: float) -> None:
        super().__init__(**options)
        self.writer = writer

    def commit(self, group: list[Piece[SteadyBatch]]) -> None:
        if len(group) > 1:
            try:
                if self.writer.write_together([piece.work for piece in group]):
                    for piece in group:
                        piece.result = True
                    return
            except IntegrityError:  # one batch's rows refused (a function deleted meanwhile): find which
                log.warning("group of %d batches refused; writing them one by one", len(group), exc_info=True)
            except Exception as error:  # the database cannot take writes now: every batch is answered 503
                log.warning("group of %d batches not written", len(group), exc_info=True)
                close_if_broken()
                for piece in group:
                    piece.error = error
                return
        for piece in group:
            try:
                piece.result = self.writer.write_one(piece.work)
            except Exception as error:  # the caller's to answer: it is raised again in the caller's thread
                log.debug("batch not written", exc_info=True)
                close_if_broken()
                piece.error = error
