"""Ingest on the embedded default: `manage.py up` (one uvicorn process, SQLite in WAL) under wrk.

Migrates a fresh SQLite file, creates a service, starts the site as `make run` does (without
the demo and the scheduler, so only the load writes), and alternates phases in one run:
POST /api/v1/ingest/validate (parsing and checks, nothing stored) and POST /api/v1/ingest
(durable: answered after commit), each for --seconds, over --rounds rounds. Every request
carries 100 calls over 50 functions and a fresh batch_id (wrk's Lua script numbers them).
Prints each round, then medians and the spread. Once the server has stopped (its clean
shutdown flushes the writer) checks every stored batch holds its 100 calls once, every
202 was stored, and no more were stored than the requests wrk left unanswered at a phase's end.

    .venv/bin/python -m bench.embedded [--seconds 10] [--rounds 3] [--connections 8]

Needs wrk (Debian's package `wrk`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import orjson

from tests.servers import free_port, stop, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = [f"fn{i:02}" for i in range(50)]
OUTCOMES = ["success"] * 17 + ["failure", "timeout", "rejected"]
PLACEHOLDER = "BATCH-ID-PLACEHOLDER"

# Each wrk thread numbers its own requests; the thread's number and a run id keep batch_ids unique.
LUA = r"""
local counter = 1
local threads = {}
local template = nil

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local f = io.open(args[1], "r")
  template = f:read("*a")
  f:close()
  run = args[2]
  seq = 0
  ok = 0
  duplicate = 0
  other = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. args[3]
end

function request()
  seq = seq + 1
  local body = template:gsub("BATCH%-ID%-PLACEHOLDER", run .. "-" .. tid .. "-" .. seq, 1)
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status == 202 then ok = ok + 1
  elseif status == 200 then duplicate = duplicate + 1
  else other = other + 1 end
end

function done(summary, latency, requests)
  local ok_total, dup_total, other_total = 0, 0, 0
  for _, thread in ipairs(threads) do
    ok_total = ok_total + thread:get("ok")
    dup_total = dup_total + thread:get("duplicate")
    other_total = other_total + thread:get("other")
  end
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %f, "p50_ms": %f, "p99_ms": %f, "max_ms": %f, ' ..
    '"accepted": %d, "ok200": %d, "other": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, ok_total, dup_total, other_total,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def batch_template() -> str:
    ts = datetime.now(UTC).isoformat()
    calls = [
        {
            "function": FUNCTIONS[i % len(FUNCTIONS)],
            "ts": ts,
            "duration_ms": 5.0 + (i * 13) % 900,
            "outcome": OUTCOMES[i % len(OUTCOMES)],
            "retries": int(i % 3 == 0),
        }
        for i in range(100)
    ]
    return orjson.dumps({"batch_id": PLACEHOLDER, "instance": "bench-1", "calls": calls}).decode()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(port: int, path: str, args: argparse.Namespace, files: dict, run: str) -> dict:
    command = [
        "wrk",
        f"-t{min(args.connections, 2)}",
        f"-c{args.connections}",
        f"-d{args.seconds:g}s",
        "--timeout",
        "10s",
        "-s",
        str(files["lua"]),
        f"http://127.0.0.1:{port}{path}",
        "--",
        str(files["body"]),
        run,
        files["token"],
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    result["items_per_s"] = (result["accepted"] + result["ok200"]) * 100 / result["seconds"]
    return result


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def stored(path: Path) -> tuple[int, int]:
    """(calls in the minute buckets, batches claimed): every stored batch holds 100 calls."""
    with sqlite3.connect(path) as db:
        (calls,) = db.execute(
            "SELECT coalesce(sum(success + failure + timeout + rejected), 0) FROM monitoring_callbucket"
        ).fetchone()
        (batches,) = db.execute("SELECT count(*) FROM monitoring_ingestbatch").fetchone()
    return int(calls), int(batches)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f} ({min(values):,.0f}-{max(values):,.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")

    folder = Path(tempfile.mkdtemp(prefix="bench-embedded-"))
    database = folder / "monitor.sqlite3"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        {
            "MONITOR_VAR_DIR": str(folder),
            "MONITOR_SQLITE_PATH": str(database),
            "MONITOR_MAX_REQUESTS_PER_MINUTE": "100000000",
            "SECRET_KEY": "bench-only-secret-key-not-for-production-use",
            "DEMO": "0",
            "PYTHONPATH": str(ROOT),
        }
    )
    print("migrating a fresh SQLite database ...", flush=True)
    manage(env, "migrate", "--noinput", "-v0")
    files = {
        "lua": folder / "batch.lua",
        "body": folder / "batch.json",
        "token": manage(env, "create_service", "bench"),
    }
    files["lua"].write_text(LUA)
    files["body"].write_text(batch_template())
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "up", "--port", str(port), "--no-scheduler", "--no-demo"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    phases = {"validate": "/api/v1/ingest/validate", "durable": "/api/v1/ingest"}
    rows: list[dict] = []
    try:
        wait_for_port(port, server, timeout=30)
        warm = argparse.Namespace(**{**vars(args), "seconds": 2.0})
        for path in phases.values():
            rows.append({"phase": "warm-up", **run_wrk(port, path, warm, files, "warm")})
        for round_ in range(1, args.rounds + 1):
            for phase, path in phases.items():
                started = cpu_seconds(server.pid)
                result = run_wrk(port, path, args, files, f"r{round_}")
                result.update(phase=phase, round=round_, server_cpu=(cpu_seconds(server.pid) - started) / args.seconds)
                rows.append(result)
                print(
                    f"round {round_} {phase:<8} {result['items_per_s']:>9,.0f} items/s  p50 {result['p50_ms']:6.1f} ms"
                    f"  p99 {result['p99_ms']:7.1f} ms  max {result['max_ms']:7.1f} ms  server CPU"
                    f" {result['server_cpu']:4.0%}  other answers {result['other']}, socket errors"
                    f" {result['socket_errors']}",
                    flush=True,
                )
    finally:
        stop(server)  # a clean stop: the writer flushes what it holds
    measured = [row for row in rows if row["phase"] != "warm-up"]
    accepted = sum(row["accepted"] for row in rows)  # 202s: validate-only answers 200
    calls, batches = stored(database)
    durable_phases = sum(1 for row in rows if row["accepted"])
    # wrk stops a phase with up to one request per connection unanswered: the server may
    # still commit those, so they are stored without having been counted as accepted.
    in_flight = batches - accepted
    ok = calls == batches * 100 and 0 <= in_flight <= durable_phases * args.connections
    by_phase = {phase: [row for row in measured if row["phase"] == phase] for phase in phases}
    ratios = [
        durable["items_per_s"] / validate["items_per_s"]
        for validate, durable in zip(by_phase["validate"], by_phase["durable"], strict=True)
    ]
    print()
    print(f"{args.connections} connections, {args.rounds} rounds of {args.seconds:g} s; median (min-max):")
    for phase, phase_rows in by_phase.items():
        print(
            f"  {phase:<8} items/s {spread([r['items_per_s'] for r in phase_rows])}"
            f"  p50 ms {spread([r['p50_ms'] for r in phase_rows])}"
            f"  p99 ms {spread([r['p99_ms'] for r in phase_rows])}"
            f"  server CPU {statistics.median(r['server_cpu'] for r in phase_rows):.0%}"
        )
    print(f"  durable / validate-only, per round: {', '.join(f'{r:.2f}' for r in ratios)}")
    print(
        f"stored: {batches:,} batches, {calls:,} calls (100 a batch: {'yes' if calls == batches * 100 else 'NO'});"
        f" accepted (202) {accepted:,}; stored but unanswered when a phase ended {in_flight}"
        f" (at most {durable_phases * args.connections}): {'OK' if ok else 'MISMATCH'}"
    )
    shutil.rmtree(folder, ignore_errors=True)
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
