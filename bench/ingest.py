"""Ingest throughput and latency on PostgreSQL under the production WSGI server.

Starts a throwaway PostgreSQL (with its default fsync and synchronous commit) and the site
under gunicorn (gthread), sends 100-item batches from concurrent keep-alive clients for a
bounded time, checks the stored totals equal what was accepted, and prints items/s, p50 and
p99 beside a baseline measured in the same run: the same requests to
POST /api/v1/ingest/validate, which validates and discards.

    .venv/bin/python -m bench.ingest [--seconds 10] [--connections 8 32] [--workers 2] [--server uvicorn]

--server uvicorn serves the same application under the ASGI server instead, to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson

from tests.servers import free_port, postgres_server, stop, wait_for_port

ROOT = Path(__file__).resolve().parent.parent

FUNCTIONS = [f"fn{i:02}" for i in range(50)]
OUTCOMES = ["success"] * 17 + ["failure", "timeout", "rejected"]


def make_batch(seq: int) -> bytes:
    ts = datetime.now(UTC).isoformat()
    calls = [
        {
            "function": FUNCTIONS[(seq + i) % len(FUNCTIONS)],
            "ts": ts,
            "duration_ms": 5.0 + (seq * 7 + i * 13) % 900,
            "outcome": OUTCOMES[(seq + i) % len(OUTCOMES)],
            "retries": i % 3 == 0,
        }
        for i in range(100)
    ]
    for c in calls:
        c["retries"] = int(c["retries"])
    return orjson.dumps({"batch_id": PLACEHOLDER.decode(), "instance": "bench-1", "calls": calls})


PLACEHOLDER = b"x" * 32  # replaced by a fresh batch id (uuid4 hex, 32 chars) for every request


async def client(port: int, path: str, token: str, bodies: list[bytes], deadline: float, out: list) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = 0
    try:
        while time.monotonic() < deadline:
            body = bodies[i % len(bodies)].replace(PLACEHOLDER, uuid.uuid4().hex.encode(), 1)
            i += 1
            head = (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            started = time.perf_counter()
            writer.write(head + body)
            await writer.drain()
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            out.append((int(status_line.split()[1]), time.perf_counter() - started))
    finally:
        writer.close()


async def load(port: int, path: str, token: str, connections: int, seconds: float) -> tuple[list, float]:
    """Send for `seconds`; returns the (status, latency) of every request and the time taken."""
    out: list = []
    bodies = [make_batch(n) for n in range(20)]
    started = time.monotonic()
    deadline = started + seconds
    await asyncio.gather(*(client(port, path, token, bodies, deadline, out) for _ in range(connections)))
    return out, time.monotonic() - started


def summarise(label: str, results: list, seconds: float) -> dict:
    ok = [elapsed for status, elapsed in results if status in (200, 202)]
    other = sorted({status for status, _ in results if status not in (200, 202)})
    latencies = sorted(ok)
    figures = {
        "label": label,
        "requests": len(results),
        "items_per_s": len(ok) * 100 / seconds,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan"),
        "errors": other,
    }
    return figures


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--server", choices=["gunicorn", "uvicorn"], default="gunicorn")
    args = parser.parse_args()

    with postgres_server(durable=True) as pg:
        subprocess.run(["psql", pg.url(), "-qc", "CREATE DATABASE monitor_bench"], check=True)
        env = {
            **os.environ,
            "DATABASE_URL": pg.url("monitor_bench"),
            "MONITOR_MAX_REQUESTS_PER_MINUTE": "100000000",
            "SECRET_KEY": "bench-only-secret-key-not-for-production-use",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
        env.pop("REDIS_URL", None)
        print("migrating a fresh PostgreSQL database ...", flush=True)
        manage(env, "migrate", "--noinput", "-v0")
        token = manage(env, "create_service", "bench")
        port = free_port()
        if args.server == "gunicorn":
            command = [
                "gunicorn",
                "resilience_site.wsgi:application",
                "-k",
                "gthread",
                "-w",
                str(args.workers),
                "--threads",
                str(args.threads),
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "--no-control-socket",
            ]
        else:
            command = [
                "uvicorn",
                "resilience_site.asgi:application",
                "--workers",
                str(args.workers),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ]
        server = subprocess.Popen([sys.executable, "-m", *command], cwd=ROOT, env=env)
        try:
            wait_for_port(port, server, timeout=30)
            asyncio.run(load(port, "/api/v1/ingest/validate", token, 2, 1.0))  # warm-up
            rows = []
            accepted_items = 0
            for connections in args.connections:
                for label, path in [
                    ("validate only (baseline)", "/api/v1/ingest/validate"),
                    ("durable ingest", "/api/v1/ingest"),
                ]:
                    print(f"{label}: {connections} connections for {args.seconds:.0f} s ...", flush=True)
                    results, elapsed = asyncio.run(load(port, path, token, connections, args.seconds))
                    figures = summarise(label, results, elapsed)
                    figures["connections"] = connections
                    rows.append(figures)
                    if path.endswith("ingest"):
                        accepted_items += sum(100 for status, _ in results if status == 202)
        finally:
            stop(server)
        stored = int(
            subprocess.run(
                [
                    "psql",
                    pg.url("monitor_bench"),
                    "-tAc",
                    "SELECT coalesce(sum(success + failure + timeout + rejected), 0) FROM monitoring_callbucket",
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
        )

    print()
    print(f"{'connections':>11}  {'endpoint':<26} {'items/s':>10} {'p50 ms':>8} {'p99 ms':>8}  ratio  errors")
    for i in range(0, len(rows), 2):
        base, durable = rows[i], rows[i + 1]
        for row in (base, durable):
            ratio = row["items_per_s"] / base["items_per_s"] if base["items_per_s"] else float("nan")
            print(
                f"{row['connections']:>11}  {row['label']:<26} {row['items_per_s']:>10.0f} {row['p50_ms']:>8.1f}"
                f" {row['p99_ms']:>8.1f}  {ratio:5.2f}  {row['errors'] or ''}"
            )
    print()
    print(f"stored calls {stored} / accepted {accepted_items}: {'OK' if stored == accepted_items else 'MISMATCH'}")
    if stored != accepted_items:
        sys.exit(1)


if __name__ == "__main__":
    main()
