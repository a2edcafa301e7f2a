"""What grouping steady batches in one transaction would save PostgreSQL, at most.

The embedded server's writer (monitoring/group_commit.py) commits many requests' batches in
one transaction and writes their call rows once, merged. PostgreSQL is written one
autocommit statement a batch (the claim and the rows together). This measures, in one
process against a throwaway durable PostgreSQL, the benchmark's batches (100 calls over 50
functions) written both ways in alternating rounds: one statement a batch, and GROUP
batches a transaction (each claimed, their rows merged with the group writer's merge_rows,
one upsert). It reports PostgreSQL's CPU a batch (its backend's, from /proc) and the wall
time a batch; one client, so the wall time also shows the commits' flushes saved, which
concurrent batches already share on PostgreSQL.

It is an upper bound of the saving: every batch here adds to the same 50 functions' minute,
so a group's merged rows are as few as they can be; there are no savepoints (a group writer
would need one a batch); no HTTP and no waiting for a group to gather.

    .venv/bin/python -m bench.ingest_grouped [--batches 800] [--group 8] [--rounds 5]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=800, help="batches a round and way")
    parser.add_argument("--group", type=int, default=8, help="batches a transaction, grouped")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.servers import postgres_server

    with postgres_server(durable=True) as pg:
        subprocess.run(["psql", pg.url(), "-qc", "CREATE DATABASE monitor_bench"], check=True)
        os.environ.update(
            DATABASE_URL=pg.url("monitor_bench"),
            DJANGO_SETTINGS_MODULE="resilience_site.settings",
            SECRET_KEY="bench-only-secret-key-not-for-production-use",
            LOG_LEVEL="WARNING",
        )
        os.environ.pop("REDIS_URL", None)
        measure(args)


def measure(args: argparse.Namespace) -> None:
    import django

    django.setup()
    import orjson
    from django.core.management import call_command
    from django.db import connection, transaction

    from bench.ingest import PLACEHOLDER, make_batch
    from monitoring.models import Service
    from monitoring.outcomes import KEEP
    from monitoring.store import steady_calls
    from monitoring.writers import PostgresWriter, calls_tables, merge_rows
    from resilience_site.ingest import ingest, parse

    call_command("migrate", "--noinput", verbosity=0)
    call_command("create_service", "bench", stdout=io.StringIO())
    service = Service.objects.get(name="bench")
    bodies = [make_batch(n) for n in range(20)]

    def body(i: int) -> bytes:
        return bodies[i % len(bodies)].replace(PLACEHOLDER.encode(), uuid.uuid4().hex.encode())

    for i in range(40):  # the functions and error types known, last_seen moved: batches are steady
        ingest(service, body(i), None)
    writer = PostgresWriter()
    answer = {"accepted": {"calls": 100, "breakers": 0, "concurrency": 0, "queues": 0}, "duplicate": False}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]

    def backend_cpu_s() -> float:
        fields = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def steady_batches() -> list[tuple[str, object]]:
        batches = [parse(body(i)) for i in range(args.batches)]
        return [(batch.batch_id, steady_calls(service, batch)) for batch in batches]

    def one_statement_a_batch(batches: list) -> None:
        for key, rows in batches:
            assert writer.claim_and_write_calls(service.id, key, "digest", answer, rows)

    def grouped(batches: list) -> None:
        for start in range(0, len(batches), args.group):
            group = batches[start : start + args.group]
            merged = merge_rows([rows for _, rows in group])
            buckets = [
                {"function_id": key[0], "minute": key[1], **vars(fold), "outcomes": merged.functions[key[0]].strip}
                for key, fold in sorted(merged.minutes.items())
            ]
            errors = [
                {"error_type_id": key[0], "minute": key[1], **vars(fold)} for key, fold in sorted(merged.errors.items())
            ]
            params = {
                "shard": writer.pick_shard(),
                "keep": KEEP,
                "buckets_json": orjson.dumps(buckets).decode(),
                "errors_json": orjson.dumps(errors).decode(),
            }
            with transaction.atomic():
                for key, _ in group:
                    assert writer.claim(service.id, key, "digest", answer)
                writer.execute_bound(writer.CALLS_UPSERT.format(**calls_tables()), params)

    ways = {"one statement a batch": one_statement_a_batch, f"{args.group} a transaction, rows merged": grouped}
    cpu: dict[str, list[float]] = {name: [] for name in ways}
    wall: dict[str, list[float]] = {name: [] for name in ways}
    for round_ in range(args.rounds):
        order = list(ways.items()) if round_ % 2 == 0 else list(ways.items())[::-1]
        for name, write in order:
            batches = steady_batches()
            cpu_before, started = backend_cpu_s(), time.perf_counter()
            write(batches)
            cpu[name].append((backend_cpu_s() - cpu_before) / args.batches * 1000)
            wall[name].append((time.perf_counter() - started) / args.batches * 1000)
        print(f"round {round_ + 1}/{args.rounds} done", flush=True)
    for name in ways:
        print(
            f"{name:32s} PostgreSQL CPU ms a batch: median {statistics.median(cpu[name]):.3f}"
            f" [{min(cpu[name]):.3f}-{max(cpu[name]):.3f}]; wall ms a batch {statistics.median(wall[name]):.3f}"
        )


if __name__ == "__main__":
    main()
