"""The benchmark's baseline: the least work the ingest contract allows, as a small WSGI app.

It answers POST /api/v1/ingest like the project does for a batch of calls: the body parsed
with orjson and validated with plain pydantic (the contract's fields, bounds and time
window), the bearer token checked against the project's own token table (cached for a
second per process, so a revocation holds within a second), the batch_id claimed with one
INSERT ... ON CONFLICT DO NOTHING, the calls folded per (function, minute) with their
latency histogram and written with one upsert (into one of 8 shard rows, as the project
does, so concurrent batches do not queue on the same row locks), then commit, then 202.
A replayed batch_id answers 200 and counts nothing. Nothing else: no framework, no
function table, no outcome strips, no last_seen, no alert hook, no live delta.

Written plainly, not tuned down: it is what the project's endpoint is measured against.
Run by bench/ingest.py under the same gunicorn settings as the project:

    DATABASE_URL=postgres://... gunicorn bench.minimal_ingest:application -k gthread -w 2 --threads 8
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import orjson
import psycopg
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

SCHEMA = """
CREATE TABLE IF NOT EXISTS minimal_claim (
    service_id bigint NOT NULL, key text NOT NULL, created timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service_id, key));
CREATE TABLE IF NOT EXISTS minimal_minute (
    service_id bigint NOT NULL, function text NOT NULL, minute timestamptz NOT NULL, shard smallint NOT NULL,
    success int NOT NULL, failure int NOT NULL, timeout int NOT NULL, rejected int NOT NULL,
    retries int NOT NULL, latency_sum_ms float8 NOT NULL, latency_max_ms float8 NOT NULL,
    histogram jsonb NOT NULL, PRIMARY KEY (service_id, function, minute, shard));
"""

# Each batch adds to one of SHARDS rows per (function, minute), picked at random, so concurrent
# batches do not all queue on the same rows' locks (a read adds the shards up).
SHARDS = 8

CLAIM = "INSERT INTO minimal_claim (service_id, key) VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING 1"

UPSERT = """
INSERT INTO minimal_minute AS m
SELECT %(service_id)s, function, minute, %(shard)s, success, failure, timeout, rejected, retries,
       latency_sum_ms, latency_max_ms, histogram
FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(
    function text, minute timestamptz, success int, failure int, timeout int, rejected int,
    retries int, latency_sum_ms float8, latency_max_ms float8, histogram jsonb)
ON CONFLICT (service_id, function, minute, shard) DO UPDATE SET
    success = m.success + EXCLUDED.success,
    failure = m.failure + EXCLUDED.failure,
    timeout = m.timeout + EXCLUDED.timeout,
    rejected = m.rejected + EXCLUDED.rejected,
    retries = m.retries + EXCLUDED.retries,
    latency_sum_ms = m.latency_sum_ms + EXCLUDED.latency_sum_ms,
    latency_max_ms = GREATEST(m.latency_max_ms, EXCLUDED.latency_max_ms),
    histogram = m.histogram || (
        SELECT coalesce(jsonb_object_agg(key, coalesce((m.histogram ->> key)::bigint, 0) + value::bigint), '{}')
        FROM jsonb_each_text(EXCLUDED.histogram))
"""

TOKENS = """
SELECT digest, service_id FROM monitoring_ingesttoken
WHERE revoked IS NULL AND (expires IS NULL OR expires > now())
"""

Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f-\x9f]+$")]


class Call(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    function: Name
    ts: AwareDatetime
    duration_ms: Annotated[float, Field(ge=0, le=24 * 3600 * 1000.0, strict=True)]
    outcome: Literal["success", "failure", "timeout", "rejected"]
    error_type: Name | None = None
    retries: Annotated[int, Field(ge=0, le=1000, strict=True)] = 0


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    batch_id: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f-\x9f]+$")] | None = None
    instance: Name | None = None
    calls: Annotated[list[Call], Field(min_length=1, max_length=5000)]


def bucket_of(duration_ms: float) -> int:
    """The project's histogram bucket (log-spaced, 5 % wide, from 0.01 ms)."""
    return 0 if duration_ms <= 0.01 else int(math.log(duration_ms / 0.01) / math.log(1.05))


class Tokens:
    """digest -> service id of the working tokens, read again once a second at most."""

    def __init__(self) -> None:
        self.by_digest: dict[str, int] = {}
        self.read_at = 0.0
        self.lock = threading.Lock()

    def service(self, conn: psycopg.Connection, raw: str) -> int | None:
        with self.lock:
            if time.monotonic() - self.read_at > 1.0:
                self.by_digest = dict(conn.execute(TOKENS).fetchall())
                self.read_at = time.monotonic()
            return self.by_digest.get(hashlib.sha256(raw.encode()).hexdigest())


tokens = Tokens()
local = threading.local()


def connection() -> psycopg.Connection:
    conn = getattr(local, "conn", None)
    if conn is None or conn.closed:
        conn = local.conn = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
    return conn


def fold(batch: Batch) -> list[dict]:
    rows: dict[tuple[str, datetime], dict] = defaultdict(
        lambda: {
            "success": 0,
            "failure": 0,
            "timeout": 0,
            "rejected": 0,
            "retries": 0,
            "latency_sum_ms": 0.0,
            "latency_max_ms": 0.0,
            "histogram": {},
        }  # fmt: skip
    )
    for call in batch.calls:
        row = rows[(call.function, call.ts.replace(second=0, microsecond=0))]
        row[call.outcome] += 1
        row["retries"] += call.retries
        row["latency_sum_ms"] += call.duration_ms
        row["latency_max_ms"] = max(row["latency_max_ms"], call.duration_ms)
        bucket = str(bucket_of(call.duration_ms))
        row["histogram"][bucket] = row["histogram"].get(bucket, 0) + 1
    # Sorted, so concurrent upserts lock rows in one order and cannot deadlock.
    return [{"function": f, "minute": m, **row} for (f, m), row in sorted(rows.items())]


def answer(start_response: object, status: str, body: dict) -> list[bytes]:
    data = orjson.dumps(body)
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def application(environ: dict, start_response: object) -> list[bytes]:
    if environ["REQUEST_METHOD"] != "POST" or environ["PATH_INFO"] != "/api/v1/ingest":
        return answer(start_response, "404 Not Found", {"detail": "not found"})
    auth = environ.get("HTTP_AUTHORIZATION", "")
    conn = connection()
    service_id = tokens.service(conn, auth.removeprefix("Bearer ")) if auth.startswith("Bearer ") else None
    if service_id is None:
        return answer(start_response, "401 Unauthorized", {"detail": "unauthorized"})
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length > 1 << 20:
        return answer(start_response, "413 Content Too Large", {"detail": "body over 1 MiB"})
    try:
        batch = Batch.model_validate_json(environ["wsgi.input"].read(length))
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        return answer(start_response, "422 Unprocessable Entity", {"detail": first["msg"], "field": str(first["loc"])})
    now = datetime.now(UTC)
    for i, call in enumerate(batch.calls):
        if not now - timedelta(hours=24) <= call.ts <= now + timedelta(minutes=5):
            return answer(
                start_response, "422 Unprocessable Entity", {"detail": "out of window", "field": f"calls[{i}].ts"}
            )
    accepted = {"calls": len(batch.calls), "breakers": 0, "concurrency": 0, "queues": 0}
    with conn.transaction(), conn.cursor() as cursor:
        if batch.batch_id is not None and cursor.execute(CLAIM, (service_id, batch.batch_id)).fetchone() is None:
            return answer(start_response, "200 OK", {"accepted": accepted, "duplicate": True})
        rows = orjson.dumps(fold(batch)).decode()
        cursor.execute(UPSERT, {"service_id": service_id, "shard": random.randrange(SHARDS), "rows": rows})
    return answer(start_response, "202 Accepted", {"accepted": accepted, "duplicate": False})


def create_schema(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SCHEMA)


def stored_calls(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT coalesce(sum(success + failure + timeout + rejected), 0) FROM minimal_minute")
        return int(row.fetchone()[0])
