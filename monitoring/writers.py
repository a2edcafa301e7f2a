"""The engine seam: how a batch's rows reach the database, PostgreSQL or SQLite, and the
few reads that are far cheaper done by the database in its own dialect.

One writer is chosen once, from the database the process connects to (`writer()`);
domain code (`store.py`, the ingest claim) calls it and never asks which engine it has.

PostgreSQL gets set-based upserts in one round trip, so concurrent batches add up
without a read. SQLite reads, merges and writes back, which is safe because its
IMMEDIATE transactions take the write lock before the read.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING

import orjson
import psycopg
from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from .error_types import TypedErrors
from .fold import FunctionFold, MinuteFold

if TYPE_CHECKING:
    from .store import CallRows
from .models import ENTRY_WIDTH, STRIP_LENGTH, CallBucket, ErrorMinute, IngestBatch, OutcomeStrip

KEEP = STRIP_LENGTH * ENTRY_WIDTH


def calls_tables() -> dict[str, str]:  # the calls upsert's tables, by the names its SQL uses
    return {
        "strips": OutcomeStrip._meta.db_table,
        "buckets": CallBucket._meta.db_table,
        "errors": ErrorMinute._meta.db_table,
    }


Functions = dict[int, FunctionFold]
Minutes = dict[tuple[int, datetime], MinuteFold]


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


def sum_rows(sql: str, since: datetime) -> dict[str, int]:
    """{histogram bucket: count} from the rows a histogram_sum query answers."""
    with connection.cursor() as cursor:
        cursor.execute(sql, [since])
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

    def histogram_sum(self, table: str, since: datetime) -> dict[str, int]:
        sql = (
            f"SELECT h.key, SUM({self.histogram_value}) FROM {table}, {self.each(table)} AS h"
            " WHERE minute >= %s GROUP BY h.key"
        )
        return sum_rows(sql, since)


class PostgresWriter(Reads):
    # The strips, the errors by type and the buckets in one statement. {guard} is empty, or
    # for a claimed write a WHERE that keeps every insert empty when the claim found the key.
    CALLS = """
    strips AS (
        INSERT INTO {strips} (shard, function_id, entries)
        SELECT %(shard)s, function_id, entries
        FROM jsonb_to_recordset(%(strips_json)s::jsonb) AS s(function_id bigint, entries text) {guard}
        ON CONFLICT (function_id, shard) DO UPDATE SET entries = right({strips}.entries || EXCLUDED.entries, %(keep)s)
    ), errors AS (
        INSERT INTO {errors} (shard, error_type_id, minute, count, first_seen, last_seen)
        SELECT %(shard)s, * FROM jsonb_to_recordset(%(errors_json)s::jsonb) AS e(
            error_type_id bigint, minute timestamptz, count int, first_seen timestamptz, last_seen timestamptz) {guard}
        ON CONFLICT (error_type_id, minute, shard) DO UPDATE SET
            count = {errors}.count + EXCLUDED.count,
            first_seen = LEAST({errors}.first_seen, EXCLUDED.first_seen),
            last_seen = GREATEST({errors}.last_seen, EXCLUDED.last_seen)
    ), buckets AS (
        INSERT INTO {buckets} (shard, function_id, minute, success, failure, timeout, rejected, retries,
                               latency_sum_ms, latency_max_ms, histogram)
        SELECT %(shard)s, * FROM jsonb_to_recordset(%(buckets_json)s::jsonb) AS b(
            function_id bigint, minute timestamptz, success int, failure int, timeout int, rejected int, retries int,
            latency_sum_ms float8, latency_max_ms float8, histogram jsonb) {guard}
        ON CONFLICT (function_id, minute, shard) DO UPDATE SET
            success = {buckets}.success + EXCLUDED.success,
            failure = {buckets}.failure + EXCLUDED.failure,
            timeout = {buckets}.timeout + EXCLUDED.timeout,
            rejected = {buckets}.rejected + EXCLUDED.rejected,
            retries = {buckets}.retries + EXCLUDED.retries,
            latency_sum_ms = {buckets}.latency_sum_ms + EXCLUDED.latency_sum_ms,
            latency_max_ms = GREATEST({buckets}.latency_max_ms, EXCLUDED.latency_max_ms),
            histogram = monitor_histogram_add({buckets}.histogram, EXCLUDED.histogram)
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

    def insert_names(self, table: str, service_id: int, names: list[str]) -> None:
        select = "SELECT %s, name, %s FROM jsonb_array_elements_text(%s::jsonb) AS name"
        run_insert_names(insert_names_sql(select, table), service_id, names)

    def write_calls(self, functions: Functions, minutes: Minutes, errors: TypedErrors, shard: int) -> None:
        # One statement, one round trip, for the strips, the buckets and the errors by type.
        self.execute_bound(
            self.CALLS_UPSERT.format(**calls_tables()), self.calls_params(functions, minutes, errors, shard)
        )

    one_statement = True  # claim_and_write_calls() is written

    def claim_and_write_calls(
        self, service_id: int, key: str | None, body_digest: str, answer: dict, rows: CallRows
    ) -> bool:
        """Claim the key (if any) and write the calls, in one autocommit statement; False,
        with nothing written, when the key was already held."""
        params = self.calls_params(rows.functions, rows.minutes, rows.errors, self.pick_shard())
        params.update(service_id=service_id, key=key, digest=body_digest, answer=orjson.dumps(answer).decode())
        sql = self.CLAIMED_CALLS.format(**calls_tables(), batches=IngestBatch._meta.db_table)
        return self.execute_bound(sql, params)[0]

    @staticmethod
    def calls_params(functions: Functions, minutes: Minutes, errors: TypedErrors, shard: int) -> dict:
        # The rows travel as JSON documents: encoding them costs far less than adapting a
        # dozen parallel arrays value by value. Sorted keys make concurrent upserts lock rows
        # in one order, so they cannot deadlock.
        strips = [{"function_id": i, "entries": functions[i].strip} for i in sorted(functions)]
        buckets = [
            {"function_id": function_id, "minute": minute, **vars(minutes[(function_id, minute)])}
            for function_id, minute in sorted(minutes)
        ]
        error_rows = [
            {"error_type_id": type_id, "minute": minute, **vars(errors[(type_id, minute)])}
            for type_id, minute in sorted(errors)
        ]
        return {
            "shard": shard,
            "keep": KEEP,
            "strips_json": orjson.dumps(strips).decode(),
            "buckets_json": orjson.dumps(buckets).decode(),
            "errors_json": orjson.dumps(error_rows).decode(),
        }

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

    def slot(self, column: str, step_s: int) -> str:
        return f"(floor(extract(epoch from {column}) / {int(step_s)}) * {int(step_s)})::bigint"

    def each(self, table: str) -> str:
        return "jsonb_each_text(histogram)"

    @staticmethod
    def execute_bound(sql: str, params: dict) -> tuple:
        """Run sql with server-side parameter binding.

        Django's PostgreSQL cursors quote parameters in Python; for large documents that
        costs more than the statement itself.
        """
        connection.ensure_connection()
        # Raised as Django's errors, so a lock timeout here answers 503 like one anywhere else.
        with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()


class SqliteWriter(Reads):
    one_statement = False  # its writes are read-merge-write: always the general path

    def pick_shard(self) -> int:
        return 0  # one writer at a time anyway

    def insert_names(self, table: str, service_id: int, names: list[str]) -> None:
        # WHERE true: without it SQLite would read ON CONFLICT as part of the SELECT's join.
        select = "SELECT %s, value, %s FROM json_each(%s) WHERE true"
        run_insert_names(insert_names_sql(select, table), service_id, names)

    def write_calls(self, functions: Functions, minutes: Minutes, errors: TypedErrors, shard: int) -> None:
        self.merge_strips(functions, shard)
        self.merge_buckets(minutes, shard)
        if errors:
            self.merge_errors(errors, shard)

    def touch_last_seen(self, model: type[models.Model], seen: dict[int, datetime]) -> None:
        # One writer at a time (IMMEDIATE transactions): the rows are written as they are.
        model.objects.bulk_update([model(id=row_id, last_seen=at) for row_id, at in seen.items()], ["last_seen"])

    def claim(self, service_id: int, key: str, body_digest: str, answer: dict) -> bool:
        try:
            with transaction.atomic():
                IngestBatch.objects.create(service_id=service_id, key=key, body_digest=body_digest, answer=answer)
                return True
        except IntegrityError:
            return False

    histogram_value = "h.value"

    def slot(self, column: str, step_s: int) -> str:
        return f"(CAST(strftime('%%s', {column}) AS INTEGER) / {int(step_s)}) * {int(step_s)}"

    def each(self, table: str) -> str:
        return f"json_each({table}.histogram)"

    @staticmethod
    def merge_strips(functions: Functions, shard: int) -> None:
        ids = sorted(functions)
        existing = {s.function_id: s for s in OutcomeStrip.objects.filter(function_id__in=ids, shard=shard)}
        strips = []
        for function_id in ids:
            strip = existing.get(function_id) or OutcomeStrip(function_id=function_id, shard=shard)
            strip.entries = (strip.entries + functions[function_id].strip)[-KEEP:]
            strips.append(strip)
        OutcomeStrip.objects.bulk_create(
            strips, update_conflicts=True, unique_fields=["function", "shard"], update_fields=["entries"]
        )

    @staticmethod
    def merge_buckets(minutes: Minutes, shard: int) -> None:
        fields = [*CallBucket.COUNTED, "latency_max_ms", "histogram"]
        merge_minute_rows(CallBucket, "function", minutes, shard, fields)

    @staticmethod
    def merge_errors(errors: TypedErrors, shard: int) -> None:
        merge_minute_rows(ErrorMinute, "error_type", errors, shard, ["count", "first_seen", "last_seen"])


def merge_minute_rows(model: type, owner: str, found: dict, shard: int, update_fields: list[str]) -> None:
    """SQLite's read-merge-write of per-minute rows keyed (owner id, minute) in one shard:
    the stored rows are read, what the batch found is added to them (`add`), all written back."""
    keys = sorted(found)
    stored = model.objects.filter(
        **{f"{owner}_id__in": {key[0] for key in keys}}, minute__in={key[1] for key in keys}, shard=shard
    )
    existing = {(getattr(row, f"{owner}_id"), row.minute): row for row in stored}
    rows = []
    for key in keys:
        row = existing.get(key) or model(**{f"{owner}_id": key[0]}, minute=key[1], shard=shard)
        row.add(found[key])
        rows.append(row)
    model.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=[owner, "minute", "shard"], update_fields=update_fields
    )


@cache
def writer() -> PostgresWriter | SqliteWriter:
    return PostgresWriter() if connection.vendor == "postgresql" else SqliteWriter()
