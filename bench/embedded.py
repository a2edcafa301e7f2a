"""Ingest on the embedded default: `manage.py up` (one uvicorn process, SQLite in WAL) under wrk.

Migrates a fresh SQLite file, creates a service, starts the site as `make run` does (without
the demo and the scheduler, so only the load writes), and alternates phases in one run:
POST /api/v1/ingest/validate (parsing and checks, nothing stored) and POST /api/v1/ingest
(durable: answered after commit), each for --seconds, over --rounds rounds. Every request
carries 100 calls over 50 functions and a fresh batch_id (wrk's Lua script numbers them).
With --compare a second server, started with `up --no-group-commit` (each batch in its
request's own transaction, as before the group writer), gets a durable phase of its own in
each round. With --against REV a third server runs that git revision (exported whole) and
gets a validate-only and a durable phase of its own in each round, so a change is measured
against the code before it in one run. Prints each round, then medians and the spread, and
items per second of the server's own CPU (less moved by whatever else the machine runs).
Once the servers have stopped (a clean stop flushes the writer) checks every stored batch
holds its 100 calls once, every 202 was stored, and no more were stored than wrk left
unanswered at a phase's end.

    .venv/bin/python -m bench.embedded [--seconds 10] [--rounds 3] [--connections 8] [--compare] [--against REV]

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
from dataclasses import dataclass, field
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


def manage(env: dict, *args: str, root: Path = ROOT) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=root, env=env, capture_output=True, text=True, check=True
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


@dataclass
class Site:
    """One embedded server on a fresh SQLite file, with its own service token."""

    name: str
    folder: Path
    options: list[str]
    files: dict = field(default_factory=dict)
    process: subprocess.Popen | None = None
    port: int = 0
    root: Path = ROOT  # the code it runs: this checkout, or a revision exported (--against)

    @property
    def database(self) -> Path:
        return self.folder / "monitor.sqlite3"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(
            {
                "MONITOR_VAR_DIR": str(self.folder),
                "MONITOR_SQLITE_PATH": str(self.database),
                "MONITOR_MAX_REQUESTS_PER_MINUTE": "100000000",
                "SECRET_KEY": "bench-only-secret-key-not-for-production-use",
                "DEMO": "0",
                "PYTHONPATH": str(self.root),
            }
        )
        return env

    def start(self) -> None:
        manage(self.env(), "migrate", "--noinput", "-v0", root=self.root)
        self.files = {"lua": self.folder / "batch.lua", "body": self.folder / "batch.json"}
        self.files["token"] = manage(self.env(), "create_service", "bench", root=self.root)
        self.files["lua"].write_text(LUA)
        self.files["body"].write_text(batch_template())
        self.port = free_port()
        command = [sys.executable, "manage.py", "up", "--port", str(self.port), "--no-scheduler", "--no-demo"]
        self.process = subprocess.Popen(
            [*command, *self.options], cwd=self.root, env=self.env(), stdout=subprocess.DEVNULL
        )
        wait_for_port(self.port, self.process, timeout=30)

    def check(self, rows: list[dict], connections: int) -> bool:
        """Stored against accepted, once the server has stopped (its clean stop flushes the writer)."""
        accepted = sum(row["accepted"] for row in rows)  # 202s: validate-only answers 200
        calls, batches = stored(self.database)
        durable_phases = sum(1 for row in rows if row["accepted"])
        # wrk ends a phase with up to one request per connection unanswered: the server may
        # still commit those, so they are stored without having been counted as accepted.
        in_flight = batches - accepted
        ok = calls == batches * 100 and 0 <= in_flight <= durable_phases * connections
        print(
            f"{self.name}: stored {batches:,} batches, {calls:,} calls"
            f" (100 a batch: {'yes' if calls == batches * 100 else 'NO'});"
            f" accepted (202) {accepted:,}; stored but unanswered when a phase ended {in_flight}"
            f" (at most {durable_phases * connections}): {'OK' if ok else 'MISMATCH'}"
        )
        return ok


def measure(site: Site, phase: str, path: str, args: argparse.Namespace, run: str) -> dict:
    started = cpu_seconds(site.process.pid)
    result = run_wrk(site.port, path, args, site.files, run)
    cpu = cpu_seconds(site.process.pid) - started
    result.update(phase=phase, site=site.name, server_cpu=cpu / result["seconds"])
    # Items per second of the server's own CPU: less moved by whatever else the machine runs.
    result["items_per_cpu_s"] = (result["accepted"] + result["ok200"]) * 100 / cpu if cpu else float("nan")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also measure a second server writing each batch in its request's transaction (up --no-group-commit)",
    )
    parser.add_argument(
        "--against",
        metavar="REV",
        help="also measure validate-only and durable on a server running this git revision, alternated in each round",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")

    grouped = Site("group commit", Path(tempfile.mkdtemp(prefix="bench-embedded-")), [])
    sites = [grouped]
    phases = [("validate", grouped, "/api/v1/ingest/validate"), ("durable", grouped, "/api/v1/ingest")]
    if args.compare:
        single = Site(
            "one transaction a request", Path(tempfile.mkdtemp(prefix="bench-embedded-")), ["--no-group-commit"]
        )
        sites.append(single)
        phases.append(("durable, one transaction a request", single, "/api/v1/ingest"))
    if args.against:
        # The revision exported whole (no git metadata) and served from there.
        export = Path(tempfile.mkdtemp(prefix="embedded-against-"))
        archive = subprocess.run(["git", "archive", args.against], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(export)], input=archive.stdout, check=True)
        earlier = Site(f"@{args.against}", Path(tempfile.mkdtemp(prefix="bench-embedded-")), [], root=export)
        sites.append(earlier)
        phases += [
            (f"validate @{args.against}", earlier, "/api/v1/ingest/validate"),
            (f"durable @{args.against}", earlier, "/api/v1/ingest"),
        ]
    rows: dict[str, list[dict]] = {site.name: [] for site in sites}
    measured: dict[str, list[dict]] = {phase: [] for phase, _, _ in phases}
    print("migrating fresh SQLite databases, starting the servers ...", flush=True)
    try:
        for site in sites:
            site.start()
        warm = argparse.Namespace(**{**vars(args), "seconds": 2.0})
        for _, site, path in phases:
            rows[site.name].append(run_wrk(site.port, path, warm, site.files, "warm"))
        for round_ in range(1, args.rounds + 1):
            for phase, site, path in phases:
                result = measure(site, phase, path, args, f"r{round_}")
                rows[site.name].append(result)
                measured[phase].append(result)
                print(
                    f"round {round_} {phase:<8} {result['items_per_s']:>9,.0f} items/s  p50 {result['p50_ms']:6.1f} ms"
                    f"  p99 {result['p99_ms']:7.1f} ms  max {result['max_ms']:7.1f} ms  server CPU"
                    f" {result['server_cpu']:4.0%} ({result['items_per_cpu_s']:,.0f} items per CPU-s)"
                    f"  other answers {result['other']}, socket errors {result['socket_errors']}",
                    flush=True,
                )
    finally:
        for site in sites:
            if site.process is not None:
                stop(site.process)  # a clean stop: the writer flushes what it holds
    print()
    print(f"{args.connections} connections, {args.rounds} rounds of {args.seconds:g} s; median (min-max):")
    for phase, phase_rows in measured.items():
        print(f"  {phase}:")
        print(
            f"    items/s {spread([r['items_per_s'] for r in phase_rows])}"
            f"  p50 ms {spread([r['p50_ms'] for r in phase_rows])}"
            f"  p99 ms {spread([r['p99_ms'] for r in phase_rows])}"
        )
        print(
            f"    server CPU {statistics.median(r['server_cpu'] for r in phase_rows):.0%}"
            f"  items per server CPU-second {spread([r['items_per_cpu_s'] for r in phase_rows])}"
        )
    for suffix in ["", *([f" @{args.against}"] if args.against else [])]:
        for key, label in (("items_per_s", "items/s"), ("items_per_cpu_s", "items per CPU-s")):
            ratios = [
                durable[key] / validate[key]
                for validate, durable in zip(measured["validate" + suffix], measured["durable" + suffix], strict=True)
            ]
            print(f"  durable / validate-only{suffix} ({label}), per round: {', '.join(f'{r:.2f}' for r in ratios)}")
    ok = all([site.check(rows[site.name], args.connections) for site in sites])
    for site in sites:
        shutil.rmtree(site.folder, ignore_errors=True)
        if site.root != ROOT:
            shutil.rmtree(site.root, ignore_errors=True)
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
