"""The engine seam: how a batch's rows reach the database, PostgreSQL or SQLite, and the
few reads that are far cheaper done by the database in its own dialect.

One writer is chosen once, from the database the process connects to (`writer()`);
domain code (`store.py`, the ingest claim) calls it and never asks which engine it has.

PostgreSQL gets set-based upserts in one round trip, so concurrent batches add up
without a read. SQLite gets one upsert statement per table too, fed a JSON array of rows.
The group writers (`group_writers.py`) run these statements once for many requests'
batches: on the embedded server every batch, on PostgreSQL the steady ones.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TypeVar

import orjson
import psycopg
from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import QuerySet
from django.utils import timezone

from .error_types import TypedErrors
from .fold import Functions, Minutes
from .models import STRIP_LENGTH, CallBucket, ErrorMinute, IngestBatch, OutcomeStrip
from .outcomes import KEEP

T = TypeVar("T")


def calls_tables() -> dict[str, str]:  # the calls upsert's tables, by the names its SQL uses
    return {
        "buckets": CallBucket._meta.db_table,
        "errors": ErrorMinute._meta.db_table,
    }


def insert_names_sql(select: str, table: str) -> str:
    # One statement whatever the number of names: the names travel as one JSON array.
    return f"INSERT INTO {table} (service_id, name, created) {select} ON CONFLICT (service_id, name) DO NOTHING"


def run_insert_names(sql: str, service_id: int, names: list[str]) -> None:
    created = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(sql, [service_id, created, orjson.dumps(names).decode()])


SERIES_COUNTS = """
SELECT {slot} AS slot, SUM(success), SUM(failure), SUM(timeout), SUM(rejected), SUM(retries),
       SUM(latency_sum_ms), MAX(latency_max_ms)
FROM {table} WHERE function_id = %s AND {column} >= %s AND {column} < %s GROUP BY 1
"""
SERIES_HISTOGRAMS = """
SELECT {slot} AS slot, h.key, SUM({value}) FROM {table}, {each} AS h
WHERE function_id = %s AND {column} >= %s AND {column} < %s GROUP BY 1, 2
"""


def slotted_series(engine: Reads, source: SeriesSource) -> dict[int, CallBucket]:
    """One function's calls in [start, end) added up per step by the database, keyed by the
    step's start in epoch seconds: a month of minute buckets is one small answer."""
    names = {"slot": engine.slot(source.column, source.step_s), "table": source.table, "column": source.column}
    params = [source.function_id, *(connection.ops.adapt_datetimefield_value(t) for t in (source.start, source.end))]
    slots: dict[int, CallBucket] = {}
    with connection.cursor() as cursor:
        cursor.execute(SERIES_COUNTS.format(**names), params)
        for slot, *sums in cursor.fetchall():
            slots[int(slot)] = CallBucket(**dict(zip(SUMMED, sums, strict=True)))
        histograms = SERIES_HISTOGRAMS.format(**names, value=engine.histogram_value, each=engine.each(source.table))
        cursor.execute(histograms, params)
        for slot, key, count in cursor.fetchall():
            slots[int(slot)].histogram[key] = int(count)
    return slots


def sum_rows(sql: str, params: list) -> dict[str, int]:
    """{histogram bucket: count} from the rows a histogram_sum query answers."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {key: int(count) for key, count in cursor.fetchall()}


SUMMED = ("success", "failure", "timeout", "rejected", "retries", "latency_sum_ms", "latency_max_ms")


@dataclass(frozen=True)
class SeriesSource:
    """One function's rows of one table (minute buckets or hourly roll-ups) in [start, end)."""

    table: str
    column: str
    function_id: int
    start: datetime
    end: datetime
    step_s: int


class Reads:
    """The reads both engines share, written once from each one's dialect (slot, each, histogram_value)."""

    def series(self, source: SeriesSource) -> dict[int, CallBucket]:
        return slotted_series(self, source)

    def histogram_sum(self, table: str, since: datetime, functions: QuerySet | None = None) -> dict[str, int]:
        """Every row's (or these functions' rows') histograms since then, added up."""
        only, params = "", [since]
        if functions is not None:
            subquery, subparams = functions.order_by().values("id").query.sql_with_params()
            only, params = f" AND function_id IN ({subquery})", [since, *subparams]
        sql = (
            f"SELECT h.key, SUM({self.histogram_value}) FROM {table}, {self.each(table)} AS h"
            f" WHERE minute >= %s{only} GROUP BY h.key"
        )
        return sum_rows(sql, params)


class PostgresWriter(Reads):
    # The errors by type and the buckets (with their newest outcomes) in one statement. {guard} is empty, or
    # for a claimed write a WHERE that keeps every insert empty when the claim found the key.
    # A histogram merges as a subquery over the new one's few buckets, overlaid on the stored
    # one: the same sums as monitor_histogram_add (migration 0004), without an SQL function
    # call per row (PostgreSQL cannot inline a function with an aggregate).
    CALLS = """
    errors AS (
        INSERT INTO {errors} (shard, error_type_id, minute, count, first_seen, last_seen)
        SELECT %(shard)s, * FROM jsonb_to_recordset(%(errors_json)s::jsonb) AS e(
            error_type_id bigint, minute timestamptz, count int, first_seen timestamptz, last_seen timestamptz) {guard}
        ON CONFLICT (error_type_id, minute, shard) DO UPDATE SET
            count = {errors}.count + EXCLUDED.count,
            first_seen = LEAST({errors}.first_seen, EXCLUDED.first_seen),
            last_seen = GREATEST({errors}.last_seen, EXCLUDED.last_seen)
    ), buckets AS (
        INSERT INTO {buckets} (shard, function_id, minute, success, failure, timeout, rejected, retries,
                               latency_sum_ms, latency_max_ms, histogram, outcomes)
        SELECT %(shard)s, * FROM jsonb_to_recordset(%(buckets_json)s::jsonb) AS b(
            function_id bigint, minute timestamptz, success int, failure int, timeout int, rejected int, retries int,
            latency_sum_ms float8, latency_max_ms float8, histogram jsonb, outcomes text) {guard}
        ON CONFLICT (function_id, minute, shard) DO UPDATE SET
            success = {buckets}.success + EXCLUDED.success,
            failure = {buckets}.failure + EXCLUDED.failure,
            timeout = {buckets}.timeout + EXCLUDED.timeout,
            rejected = {buckets}.rejected + EXCLUDED.rejected,
            retries = {buckets}.retries + EXCLUDED.retries,
            latency_sum_ms = {buckets}.latency_sum_ms + EXCLUDED.latency_sum_ms,
            latency_max_ms = GREATEST({buckets}.latency_max_ms, EXCLUDED.latency_max_ms),
            outcomes = right({buckets}.outcomes || EXCLUDED.outcomes, %(keep)s),
            histogram = {buckets}.histogram || (
                SELECT coalesce(jsonb_object_agg(key, coalesce(({buckets}.histogram ->> key)::bigint, 0)
                                                      + value::bigint), '{{}}')
                FROM jsonb_each_text(EXCLUDED.histogram))
    )
    """
    CALLS_UPSERT = "WITH" + CALLS.replace("{guard}", "") + "SELECT 1"
    # The claim and the calls in one autocommit statement: one round trip, no BEGIN or COMMIT.
    # A concurrent batch holding the same key makes the claim wait for its commit; then the
    # key is found and nothing is written.
    CLAIMED_CALLS = (
        """
    WITH claim AS (
        INSERT INTO {batches} (service_id, key, body_digest, answer, created)
        SELECT %(service_id)s, %(key)s::text, %(digest)s, %(answer)s::jsonb, now() WHERE %(key)s::text IS NOT NULL
        ON CONFLICT (service_id, key) DO NOTHING RETURNING id
    ), go AS (SELECT %(key)s::text IS NULL OR EXISTS (SELECT FROM claim) AS ok),"""
        + CALLS.replace("{guard}", "WHERE (SELECT ok FROM go)")
        + "SELECT ok FROM go"
    )

    # Rows another batch holds (it is moving them too) are skipped, not waited for: once a
    # minute every batch in flight used to queue here on the same rows until the holder's commit.
    TOUCH = """
    WITH seen AS (SELECT * FROM unnest(%s::bigint[], %s::timestamptz[]) AS seen(id, at)),
    due AS (
        SELECT t.id, seen.at FROM {table} t JOIN seen ON t.id = seen.id
        WHERE t.last_seen IS NULL OR t.last_seen < seen.at - interval '1 minute'
        ORDER BY t.id FOR NO KEY UPDATE OF t SKIP LOCKED
    )
    UPDATE {table} t SET last_seen = due.at FROM due WHERE t.id = due.id
    """
    CLAIM = """
    INSERT INTO {table} (service_id, key, body_digest, answer, created) VALUES (%s, %s, %s, %s::jsonb, now())
    ON CONFLICT (service_id, key) DO NOTHING RETURNING id
    """

    def pick_shard(self) -> int:
        # Concurrent batches spread over shards instead of queueing on one row's lock.
        return random.randrange(settings.MONITOR_BUCKET_SHARDS)

    def committed(self, work: Callable[[], T], items: int = 1) -> T:
        """work() (which opens its own transaction) run here: committed when it returns."""
        return work()

    def insert_names(self, table: str, service_id: int, names: list[str]) -> None:
        select = "SELECT %s, name, %s FROM jsonb_array_elements_text(%s::jsonb) AS name"
        run_insert_names(insert_names_sql(select, table), service_id, names)

    def write_calls(self, functions: Functions, minutes: Minutes, errors: TypedErrors, shard: int) -> None:
        # One statement, one round trip, for the strips, the buckets and the errors by type.
        params = self.calls_params(minute_strips(functions), minutes, errors, shard)
        self.execute_bound(self.CALLS_UPSERT.format(**calls_tables()), params)

    one_statement = True  # claim_and_write_calls() is written

    def claim_and_write_calls(
        self, service_id: int, key: str | None, body_digest: str, answer: dict, rows: CallRows
    ) -> bool:
        """Claim the key (if any) and write the calls, in one autocommit statement; False,
        with nothing written, when the key was already held."""
        return self.write_one(SteadyBatch(service_id, key, body_digest, answer, bucket_rows(rows)))

    def write_one(self, batch: SteadyBatch) -> bool:
        """A steady batch's claim and rows in one autocommit statement."""
        params = self.calls_params(batch.rows.strips, batch.rows.minutes, batch.rows.errors, self.pick_shard())
        params.update(
            service_id=batch.service_id,
            key=batch.key,
            digest=batch.body_digest,
            answer=orjson.dumps(batch.answer).decode(),
        )
        sql = self.CLAIMED_CALLS.format(**calls_tables(), batches=IngestBatch._meta.db_table)
        return self.execute_bound(sql, params)[0]

    @staticmethod
    def calls_params(strips: Strips, minutes: Minutes, errors: TypedErrors, shard: int) -> dict:
        # The rows travel as JSON documents: encoding them costs far less than adapting a
        # dozen parallel arrays value by value. Sorted keys make concurrent upserts lock rows
        # in one order, so they cannot deadlock.
        buckets = [
            {"function_id": key[0], "minute": key[1], **vars(minutes[key]), "outcomes": strips[key]}
            for key in sorted(minutes)
        ]
        error_rows = [
            {"error_type_id": type_id, "minute": minute, **vars(errors[(type_id, minute)])}
            for type_id, minute in sorted(errors)
        ]
        return {
            "shard": shard,
            "keep": KEEP,
            "buckets_json": orjson.dumps(buckets).decode(),
            "errors_json": orjson.dumps(error_rows).decode(),
        }

    # Each function's newest bucket rows, newest minute first (its unique index read backwards).
    # A row written here holds at least one entry, and a minute at most one row a shard, so the
    # newest STRIP_LENGTH entries are in the newest STRIP_LENGTH + shards rows; older rows' entries
    # are in the strips (written before the rows kept them, or carried over by retention).
    BUCKET_OUTCOMES = """
    SELECT f.id, b.outcomes FROM unnest(%s::bigint[]) AS f(id) CROSS JOIN LATERAL (
        SELECT outcomes FROM {table} WHERE function_id = f.id ORDER BY minute DESC LIMIT %s) AS b
    WHERE b.outcomes <> ''
    """

    def bucket_outcomes(self, function_ids: list[int]) -> list[tuple[int, str]]:
        """(function id, entries) of the bucket rows that may hold these functions' newest outcomes."""
        if not function_ids:
            return []
        sql = self.BUCKET_OUTCOMES.format(table=CallBucket._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(sql, [function_ids, STRIP_LENGTH + max(settings.MONITOR_BUCKET_SHARDS, 8)])
            return cursor.fetchall()

    def touch_last_seen(self, model: type[models.Model], seen: dict[int, datetime]) -> None:
        """Set last_seen of the rows whose last_seen is a minute older than seen's (one round trip)."""
        with connection.cursor() as cursor:
            cursor.execute(self.TOUCH.format(table=model._meta.db_table), [list(seen), list(seen.values())])

    def claim(self, service_id: int, key: str, body_digest: str, answer: dict) -> bool:
        """True when this batch is the first to hold the key (one round trip, no savepoint)."""
        with connection.cursor() as cursor:
            sql = self.CLAIM.format(table=IngestBatch._meta.db_table)
            cursor.execute(sql, [service_id, key, body_digest, orjson.dumps(answer).decode()])
            return cursor.fetchone() is not None

    histogram_value = "h.value::int"
    histogram_object = "jsonb_object_agg"  # (key, count) rows back into one histogram (rollups.py)

    def slot(self, column: str, step_s: int) -> str:
        return f"(floor(extract(epoch from {column}) / {int(step_s)}) * {int(step_s)})::bigint"

    def each(self, table: str) -> str:
        return "jsonb_each_text(histogram)"

    @staticmethod
    @contextmanager
    def without_jit() -> Iterator[None]:
        """Statements planned without JIT compilation: a few seconds of compiling for a query
        whose work takes milliseconds (jsonb_each's guessed 100 rows a histogram push its cost
        past jit_above_cost)."""
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
            yield

    @staticmethod
    def execute_bound(sql: str, params: dict) -> tuple:
        """Run sql with server-side parameter binding, as a prepared statement of the connection
        unless MONITOR_INGEST_PREPARED is off.

        Django's PostgreSQL cursors quote parameters in Python; for large documents that
        costs more than the statement itself. Django prepares no statement (a connection
        pooler in transaction mode may not keep them); the ingest statements are large, and
        parsing and planning them again for every batch cost PostgreSQL more than running
        them (0.7 ms of its CPU a batch, measured).
        """
        connection.ensure_connection()
        raw = connection.connection
        # Raised as Django's errors, so a lock timeout here answers 503 like one anywhere else.
        with connection.wrap_database_errors, psycopg.Cursor(raw) as cursor:
            if not settings.MONITOR_INGEST_PREPARED:
                cursor.execute(sql, params)
                return cursor.fetchone()
            # The connection's threshold is Django's (None: never prepare) but for this statement.
            threshold = raw.prepare_threshold
            raw.prepare_threshold = 0
            try:
                cursor.execute(sql, params, prepare=True)
            finally:
                raw.prepare_threshold = threshold
            return cursor.fetchone()


class SqliteWriter(Reads):
    SHARD = 0  # one writer at a time anyway
    # The steady path (store.steady_calls) is PostgreSQL's and the group writer's; a request's
    # own transaction on SQLite takes the general path.
    one_statement = False

    def pick_shard(self) -> int:
        return self.SHARD

    def committed(self, work: Callable[[], T], items: int = 1) -> T:
        return work()

    def insert_names(self, table: str, service_id: int, names: list[str]) -> None:
        # WHERE true: without it SQLite would read ON CONFLICT as part of the SELECT's join.
        select = "SELECT %s, value, %s FROM json_each(%s) WHERE true"
        run_insert_names(insert_names_sql(select, table), service_id, names)

    def write_calls(self, functions: Functions, minutes: Minutes, errors: TypedErrors, shard: int) -> None:
        self.write_all([CallRows(functions, minutes, errors)])

    @classmethod
    def write_all(cls, batches: list[CallRows]) -> None:
        """The call rows of one or more batches (in commit order): one upsert statement per table.

        The rows travel as one JSON array. SQLite applies an upsert's rows one after another,
        so two batches adding to the same row add up, and strips grow in the batches' order.
        """
        to_db = sqlite_time
        strips = [
            {"function_id": function_id, "entries": fold.strip}
            for batch in batches
            for function_id, fold in sorted(batch.functions.items())
        ]
        buckets = [
            {"function_id": function_id, "minute": to_db(minute), **vars(fold)}
            for batch in batches
            for (function_id, minute), fold in sorted(batch.minutes.items())
        ]
        errors = [
            {
                "error_type_id": type_id,
                "minute": to_db(minute),
                "count": fold.count,
                "first_seen": to_db(fold.first_seen),
                "last_seen": to_db(fold.last_seen),
            }
            for batch in batches
            for (type_id, minute), fold in sorted(batch.errors.items())
        ]
        for model, rows in ((OutcomeStrip, strips), (CallBucket, buckets), (ErrorMinute, errors)):
            if rows:
                sqlite_execute(sqlite_upsert_sql(model), [cls.SHARD, orjson.dumps(rows).decode()])

    CLAIM = """
    INSERT INTO {table} (service_id, key, body_digest, answer, created) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (service_id, key) DO NOTHING
    """

    def bucket_outcomes(self, function_ids: list[int]) -> list[tuple[int, str]]:
        return []  # SQLite's writer keeps the newest outcomes in the strips alone

    def touch_last_seen(self, model: type[models.Model], seen: dict[int, datetime]) -> None:
        # One writer at a time (IMMEDIATE transactions): the rows are written as they are.
        model.objects.bulk_update([model(id=row_id, last_seen=at) for row_id, at in seen.items()], ["last_seen"])

    def claim(self, service_id: int, key: str, body_digest: str, answer: dict) -> bool:
        """True when this batch is the first to hold the key (one statement, no savepoint)."""
        params = [service_id, key, body_digest, orjson.dumps(answer).decode(), naive_utc(timezone.now())]
        return sqlite_execute(self.CLAIM.format(table=IngestBatch._meta.db_table), params).rowcount == 1

    histogram_value = "h.value"
    histogram_object = "json_group_object"

    def slot(self, column: str, step_s: int) -> str:
        return f"(CAST(strftime('%%s', {column}) AS INTEGER) / {int(step_s)}) * {int(step_s)}"

    def each(self, table: str) -> str:
        return f"json_each({table}.histogram)"

    @staticmethod
    @contextmanager
    def without_jit() -> Iterator[None]:
        yield  # SQLite compiles nothing


def sqlite_execute(sql: str, params: list) -> sqlite3.Cursor:
    """sql (with ? placeholders) run on the connection's own sqlite3 cursor, its errors raised
    as Django's: without Django's cursor wrappers, which rewrite each statement's placeholders
    (a regular expression over the whole upsert) on every call. In the caller's transaction."""
    connection.ensure_connection()
    with connection.wrap_database_errors:
        return connection.connection.execute(sql, params)


@lru_cache(maxsize=8)
def sqlite_upsert_sql(model: type[models.Model]) -> str:
    """The upsert of model's rows (SQLITE_UPSERTS) with its table named and ? placeholders."""
    return SQLITE_UPSERTS[model].format(table=model._meta.db_table).replace("%s", "?")


@lru_cache(maxsize=4096)  # a group's rows share a few minutes, and times within them
def sqlite_time(at: datetime) -> str:
    """A time as Django writes it to SQLite (naive UTC, `str()`), without its per-value checks."""
    return naive_utc(at)


def naive_utc(at: datetime) -> str:
    """sqlite_time for a time seen once (the moment of a claim), left out of its cache."""
    return str(at.astimezone(UTC).replace(tzinfo=None))


@dataclass
class CallRows:
    """What one batch adds to the strips, the minute buckets and the errors by type."""

    functions: Functions
    minutes: Minutes
    errors: TypedErrors


Strips = dict[tuple[int, datetime], str]  # (function id, minute): the newest outcomes of its calls then


def minute_strips(functions: Functions) -> Strips:
    """The outcomes each (function, minute) bucket row adds to its own (PostgreSQL keeps them there)."""
    return {
        (function_id, minute): strip
        for function_id, fold in functions.items()
        for minute, strip in fold.strips_by_minute()
    }


@dataclass
class BucketRows:
    """What one batch (or a group's batches, merged) adds to PostgreSQL's bucket rows and errors by type."""

    strips: Strips
    minutes: Minutes
    errors: TypedErrors


def bucket_rows(rows: CallRows) -> BucketRows:
    return BucketRows(minute_strips(rows.functions), rows.minutes, rows.errors)


@dataclass
class SteadyBatch:
    """A steady batch for PostgreSQL's group writer: its claim (if it has a key) and its rows."""

    service_id: int
    key: str | None
    body_digest: str
    answer: dict
    rows: BucketRows


def sqlite_upsert(columns: dict[str, str], unique: str, updates: str) -> str:
    """INSERT ... SELECT from a JSON array of rows (the second parameter), each with columns' keys.

    WHERE true: without it SQLite would read ON CONFLICT as part of the SELECT's join.
    ORDER BY the array's index: the rows are applied in the order they were given.
    """
    values = ", ".join(f"{cast}(json_extract(r.value, '$.{name}'))" for name, cast in columns.items())
    return (
        f"INSERT INTO {{table}} (shard, {', '.join(columns)}) SELECT %s, {values} FROM json_each(%s) AS r"
        f" WHERE true ORDER BY r.key ON CONFLICT ({unique}, shard) DO UPDATE SET {updates}"
    )


# The histogram merge: the two JSON objects' counts added key by key.
HISTOGRAM_SUM = """(SELECT json_group_object(key, total) FROM (
    SELECT key, sum(value) AS total FROM (
        SELECT key, value FROM json_each({table}.histogram)
        UNION ALL SELECT key, value FROM json_each(excluded.histogram)
    ) GROUP BY key))"""
SQLITE_UPSERTS = {
    OutcomeStrip: sqlite_upsert(
        {"function_id": "", "entries": ""},
        "function_id",
        f"entries = substr({{table}}.entries || excluded.entries, -{KEEP})",
    ),
    CallBucket: sqlite_upsert(
        {
            "function_id": "",
            "minute": "",
            **dict.fromkeys(CallBucket.COUNTED, ""),
            "latency_max_ms": "",
            "histogram": "json",
        },
        "function_id, minute",
        ", ".join(f"{name} = {{table}}.{name} + excluded.{name}" for name in CallBucket.COUNTED)
        + ", latency_max_ms = max({table}.latency_max_ms, excluded.latency_max_ms)"
        + f", histogram = {HISTOGRAM_SUM}",
    ),
    ErrorMinute: sqlite_upsert(
        {"error_type_id": "", "minute": "", "count": "", "first_seen": "", "last_seen": ""},
        "error_type_id, minute",
        "count = {table}.count + excluded.count, first_seen = min({table}.first_seen, excluded.first_seen),"
        " last_seen = max({table}.last_seen, excluded.last_seen)",
    ),
}


chosen: list[PostgresWriter | SqliteWriter] = []


def writer() -> PostgresWriter | SqliteWriter:
    if not chosen:
        chosen.append(postgres_writer() if connection.vendor == "postgresql" else SqliteWriter())
    return chosen[0]


def postgres_writer() -> PostgresWriter:
    """Steady batches written in groups by one thread of each process (MONITOR_GROUP_COMMIT,
    on by default: fewer statements and commits under load), or each in its own request's."""
    if not settings.MONITOR_GROUP_COMMIT:
        return PostgresWriter()
    from .group_writers import PostgresGroupWriter  # built on this module's writers

    return PostgresGroupWriter()


def start_group_commit() -> None:
    """The embedded server's choice, made once at start before it serves: on SQLite, batches
    are written by one thread in groups (see group_commit.py). Elsewhere nothing changes (on
    PostgreSQL `writer()` chooses by MONITOR_GROUP_COMMIT)."""
    if connection.vendor != "sqlite":
        return
    from .group_writers import GroupCommitWriter

    grouped = GroupCommitWriter()
    grouped.group.start()
    chosen[:] = [grouped]


def stop_group_commit() -> None:
    """Commit what a group writer holds and end its thread (a server's clean exit)."""
    group = getattr(chosen[0], "group", None) if chosen else None
    if group is not None:
        group.stop()
