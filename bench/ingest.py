"""Ingest throughput and latency on PostgreSQL, against a minimal durable endpoint in the same run.

Starts a throwaway PostgreSQL (its default fsync and synchronous commit), the site and the
minimal durable endpoint (bench/minimal_ingest.py) under the same gunicorn settings, and
drives both with wrk (bench/ingest.lua gives every request a fresh batch_id; 100 calls over
50 functions a batch). Phases alternate, endpoint by endpoint, at each connection count,
for several rounds; it prints per endpoint the median items/s and p99 with their per-round
spread, the ratio to the minimal endpoint, the CPU each part used per batch (gunicorn,
PostgreSQL, wrk), and checks the stored calls against the accepted ones.

    .venv/bin/python -m bench.ingest [--seconds 5] [--rounds 3] [--connections 1 8 32]
        [--workers 2] [--threads 8] [--worker-class gthread] [--validate] [--server uvicorn]
        [--against REV ...] [--also-workers sync:8 gthread:4:4 ...] [--without-group-commit] [--otlp]

--embedded measures the `make run` server (SQLite, its group-committing writer) instead:
bench/embedded.py, which takes its own options (`--embedded --help` lists them).
--validate adds the project's POST /api/v1/ingest/validate (parse and discard) as a third
phase; --server uvicorn serves the project under the ASGI server instead, to compare.
--otlp measures POST /otlp/v1/metrics against the project's own /api/v1/ingest instead of
the minimal endpoint: the same 100 calls a batch, recorded with the OpenTelemetry SDK (delta
histograms per function, outcome and retries, the SDK's default bounds) and encoded once per
body as its exporter sends them (bench/otlp.lua posts them), with no Idempotency-Key as the
SDK sends none, and again with a fresh one per request (the OTLP path's only idempotency key,
so that phase claims a key per request as the JSON phase's batch_id does).
The phase runner (`Target`, `run_phases`, `report`) is shared with other benchmarks.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson
from opentelemetry.exporter.otlp.proto.common._internal.metrics_encoder import encode_metrics
from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.resources import Resource

from bench import minimal_ingest
from tests.servers import free_port, postgres_server, stop, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "bench" / "ingest.lua"
OTLP_LUA = ROOT / "bench" / "otlp.lua"
BODIES = 20  # distinct request bodies per phase, sent in turn
ITEMS = 100
FUNCTIONS = [f"fn{i:02}" for i in range(50)]
OUTCOMES = ["success"] * 17 + ["failure", "timeout", "rejected"]
PLACEHOLDER = "x" * 32  # replaced by a fresh batch_id for every request (bench/ingest.lua)
TICKS = os.sysconf("SC_CLK_TCK")


def batch_calls(seq: int) -> list[dict]:
    ts = datetime.now(UTC).isoformat()
    return [
        {
            "function": FUNCTIONS[(seq + i) % len(FUNCTIONS)],
            "ts": ts,
            "duration_ms": 5.0 + (seq * 7 + i * 13) % 900,
            "outcome": OUTCOMES[(seq + i) % len(OUTCOMES)],
            "retries": int(i % 3 == 0),
        }
        for i in range(ITEMS)
    ]


def make_batch(seq: int) -> bytes:
    return orjson.dumps({"batch_id": PLACEHOLDER, "instance": "bench-1", "calls": batch_calls(seq)})


def json_bodies(folder: Path) -> list[str]:
    """bench/ingest.lua's arguments before the token: the file of batches, one a line."""
    path = folder / "batches.jsonl"
    path.write_bytes(b"\n".join(make_batch(n) for n in range(BODIES)) + b"\n")
    return [str(path)]


def otlp_bodies(folder: Path) -> list[str]:
    """The same batches recorded with the OpenTelemetry SDK and encoded as its OTLP/HTTP exporter
    sends them (delta temporality: each collection holds one batch's calls), one file each;
    bench/otlp.lua's arguments: the files' prefix, then (after token and tag) how many."""
    reader = InMemoryMetricReader(preferred_temporality={Histogram: AggregationTemporality.DELTA})
    resource = Resource.create({"service.name": "bench", "service.instance.id": "bench-1"})
    provider = MeterProvider(resource=resource, metric_readers=[reader])
    duration = provider.get_meter("bench").create_histogram("resilience.call.duration", unit="ms")
    for seq in range(BODIES):
        for call in batch_calls(seq):
            attributes = {"function": call["function"], "outcome": call["outcome"], "retries": call["retries"]}
            duration.record(call["duration_ms"], attributes)
        request = encode_metrics(reader.get_metrics_data())
        (folder / f"otlp{seq + 1}.pb").write_bytes(request.SerializeToString())
    provider.shutdown()
    return [str(folder / "otlp"), str(BODIES)]


# CPU of process trees, from /proc: utime + stime of every live process in the tree, plus what
# its exited children used (cutime + cstime, counted by the parent that reaped them).


def proc_stat(pid: int) -> tuple[int, float] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    ppid = int(fields[1])
    return ppid, sum(int(value) for value in fields[11:15]) / TICKS


def tree_cpu(root: int) -> float:
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := proc_stat(int(entry))):
            stats[int(entry)] = stat
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += stats[pid][1]
        todo.extend(children.get(pid, []))
    return total


def postmaster_pid(port: int) -> int:
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            args = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if (
            args
            and args[0].endswith(b"postgres")
            and b"-p" in args
            and args[args.index(b"-p") + 1] == str(port).encode()
        ):
            return int(entry)
    raise RuntimeError(f"no postmaster on port {port}")


@dataclass
class Target:
    """One endpoint under test: where to send, its server's process, how to count what it stored."""

    label: str
    url: str
    process: subprocess.Popen
    stored: Callable[[], int] | None = None  # calls stored so far, for the check against accepted
    store: str = ""  # targets writing to the same tables are checked together
    phases: list[dict] = field(default_factory=list)
    warmup: list[dict] = field(default_factory=list)  # not in the table, but in the stored check
    lua: Path = LUA
    bodies: Callable[[Path], list[str]] = json_bodies  # writes them, returns the script's arguments
    extra: list[str] = field(default_factory=list)  # the script's last arguments


def run_wrk(target: Target, bodies: list[str], token: str, connections: int, seconds: float, tag: str, pg: int) -> dict:
    threads = min(2, connections)
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{round(seconds)}s", "--timeout", "30s"]
    command += ["-s", str(target.lua), target.url, "--", bodies[0], token, tag, *bodies[1:], *target.extra]
    before = {"server": tree_cpu(target.process.pid), "postgres": tree_cpu(pg)}
    wrk = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    out = wrk.stdout.read()
    _, status, usage = os.wait4(wrk.pid, 0)  # reaped here, for its CPU use
    wrk.returncode = os.waitstatus_to_exitcode(status)
    after = {"server": tree_cpu(target.process.pid), "postgres": tree_cpu(pg)}
    figures = orjson.loads(next(line for line in out.splitlines() if line.startswith('{"requests"')))
    ok = figures["requests"] - figures["status_errors"]
    seconds_taken = figures["duration_us"] / 1e6
    figures.update(
        connections=connections,
        ok=ok,
        items_per_s=ok * ITEMS / seconds_taken,
        cpu_server=after["server"] - before["server"],
        cpu_postgres=after["postgres"] - before["postgres"],
        cpu_wrk=usage.ru_utime + usage.ru_stime,
    )
    return figures


def run_phases(targets: list[Target], token: str, connections: list[int], rounds: int, seconds: float, pg: int) -> None:
    """Every round, at each connection count, one phase per target, the targets' order
    turning each round so none always runs right after the same other one."""
    with tempfile.TemporaryDirectory(prefix="ingest-bodies-") as folder:

        def fresh() -> dict[Callable, list[str]]:
            # Fresh timestamps each phase: the batches stay inside the accepted window.
            return {write: write(Path(folder)) for write in dict.fromkeys(target.bodies for target in targets)}

        bodies = fresh()
        # Every worker process and thread warmed (URLs resolved, connections opened, names
        # remembered): a cold worker's first request can take seconds on a busy machine.
        for target in targets:
            warm = run_wrk(target, bodies[target.bodies], token, 8, 3, f"warm{time.monotonic_ns()}", pg)
            target.warmup.append(warm)
        for round_ in range(rounds):
            for count in connections:
                bodies = fresh()
                turn = round_ % len(targets)
                for target in targets[turn:] + targets[:turn]:
                    print(f"round {round_ + 1}/{rounds}: {target.label}, {count} connections ...", flush=True)
                    tag = f"r{round_}c{count}{time.monotonic_ns() % 10**9}"
                    target.phases.append(run_wrk(target, bodies[target.bodies], token, count, seconds, tag, pg))


def spread(values: list[float], fmt: str = "{:.0f}") -> str:
    return f"{fmt.format(statistics.median(values))} [{fmt.format(min(values))}-{fmt.format(max(values))}]"


def report(targets: list[Target], connections: list[int]) -> bool:
    """Print the table; True when every target's stored calls agree with its accepted ones."""
    base = targets[0]
    print()
    print(
        f"{'conns':>5}  {'endpoint':<22} {'items/s median [range]':>26} {'ratio [per round]':>20}"
        f" {'p99 ms median [range]':>24}  {'CPU ms/batch: server pg wrk':>28}  errors"
    )
    for count in connections:
        base_rows = [row for row in base.phases if row["connections"] == count]
        for target in targets:
            rows = [row for row in target.phases if row["connections"] == count]
            rates = [row["items_per_s"] for row in rows]
            # A base round with nothing accepted (every request refused: see errors) has no ratio.
            ratios = [
                row["items_per_s"] / b["items_per_s"] if b["items_per_s"] else math.nan
                for row, b in zip(rows, base_rows, strict=True)
            ]
            p99 = [row["p99_us"] / 1000 for row in rows]
            batches = sum(row["ok"] for row in rows) or 1
            cpu = [sum(row[f"cpu_{part}"] for row in rows) * 1000 / batches for part in ("server", "postgres", "wrk")]
            errors = {
                kind: total
                for kind in ("status_errors", "connect", "read", "write", "timeout")
                if (total := sum(row[kind] for row in rows))
            }
            base_rate = statistics.median([b["items_per_s"] for b in base_rows])
            ratio = statistics.median(rates) / base_rate if base_rate else math.nan
            print(
                f"{count:>5}  {target.label:<22} {spread(rates):>26}"
                f" {ratio:>6.2f} [{min(ratios):.2f}-{max(ratios):.2f}]"
                f" {spread(p99, '{:.1f}'):>24}  {cpu[0]:>10.2f} {cpu[1]:>6.2f} {cpu[2]:>6.2f}    {errors or ''}"
            )
    print()
    agree = True
    for store in dict.fromkeys(target.store for target in targets if target.stored is not None):
        group = [target for target in targets if target.store == store and target.stored is not None]
        phases = [row for target in group for row in target.phases + target.warmup]
        accepted = sum(row["ok"] for row in phases) * ITEMS
        # wrk stops with up to one request per connection in flight: the server may commit
        # those after wrk stopped counting, so stored may exceed accepted by that much, never less.
        in_flight = sum(row["connections"] for row in phases) * ITEMS
        stored = group[0].stored()
        fine = accepted <= stored <= accepted + in_flight
        agree &= fine
        print(
            f"{' + '.join(target.label for target in group)}: stored calls {stored} / accepted {accepted}"
            f" (+ at most {in_flight} in flight when phases stopped): {'OK' if fine else 'MISMATCH'}"
        )
    return agree


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def gunicorn(app: str, port: int, args: argparse.Namespace, workers: str = "") -> list[str]:
    """gunicorn's command; workers ("sync:8", "gthread:4:4") instead of the --worker-class,
    --workers and --threads options when given."""
    kind, count, threads = (
        (workers.split(":") + [str(args.threads)])[:3]
        if workers
        else (args.worker_class, str(args.workers), str(args.threads))
    )
    command = ["gunicorn", app, "-k", kind, "-w", count, "-b", f"127.0.0.1:{port}"]
    if kind == "gthread":
        command += ["--threads", threads]
    return [*command, "--log-level", "warning", "--no-control-socket"]


def psql_count(url: str, sql: str) -> int:
    done = subprocess.run(["psql", url, "-tAc", sql], check=True, capture_output=True, text=True)
    return int(done.stdout.strip())


def otlp_targets(port: int, site: subprocess.Popen, stored: Callable[[], int]) -> list[Target]:
    """The JSON ingest first (the ratio's base), then OTLP without and with an Idempotency-Key:
    all three add to the same calls."""
    otlp = f"http://127.0.0.1:{port}/otlp/v1/metrics"
    return [
        Target("project ingest (JSON)", f"http://127.0.0.1:{port}/api/v1/ingest", site, stored, "project"),
        Target("OTLP protobuf", otlp, site, stored, "project", lua=OTLP_LUA, bodies=otlp_bodies, extra=["nokey"]),
        Target(
            "OTLP + Idempotency-Key", otlp, site, stored, "project", lua=OTLP_LUA, bodies=otlp_bodies, extra=["keyed"]
        ),
    ]


def main() -> None:
    if "--embedded" in sys.argv[1:]:
        from . import embedded

        sys.argv.remove("--embedded")
        embedded.main()
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    parser.add_argument("--validate", action="store_true", help="also measure /api/v1/ingest/validate")
    parser.add_argument(
        "--otlp", action="store_true", help="OTLP protobuf exports against the JSON ingest (no minimal endpoint)"
    )
    parser.add_argument("--server", choices=["gunicorn", "uvicorn"], default="gunicorn")
    parser.add_argument(
        "--against",
        metavar="REV",
        nargs="*",
        default=[],
        help="also serve these git revisions of the project (same database), to compare",
    )
    parser.add_argument(
        "--also-workers",
        metavar="CLASS:N[:THREADS]",
        nargs="*",
        default=[],
        help="also serve the project under these gunicorn workers (e.g. sync:8), to choose them",
    )
    parser.add_argument(
        "--without-group-commit",
        action="store_true",
        help="also serve the project with MONITOR_GROUP_COMMIT off (each batch in its request's transaction)",
    )
    args = parser.parse_args()

    with postgres_server(durable=True) as pg:
        subprocess.run(["psql", pg.url(), "-qc", "CREATE DATABASE monitor_bench"], check=True)
        url = pg.url("monitor_bench")
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "MONITOR_MAX_REQUESTS_PER_MINUTE": "100000000",
            "SECRET_KEY": "bench-only-secret-key-not-for-production-use",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
        env.pop("REDIS_URL", None)
        print("migrating a fresh PostgreSQL database ...", flush=True)
        manage(env, "migrate", "--noinput", "-v0")
        minimal_ingest.create_schema(url)
        token = manage(env, "create_service", "bench")
        site_port, minimal_port = free_port(), free_port()
        if args.server == "gunicorn":
            site_command = gunicorn("resilience_site.wsgi:application", site_port, args)
        else:
            site_command = ["uvicorn", "resilience_site.asgi:application", "--workers", str(args.workers)]
            site_command += ["--host", "127.0.0.1", "--port", str(site_port), "--log-level", "warning"]
        site = subprocess.Popen([sys.executable, "-m", *site_command], cwd=ROOT, env=env)
        stored_sql = "SELECT coalesce(sum(success + failure + timeout + rejected), 0) FROM monitoring_callbucket"
        earlier = []
        if args.otlp:
            targets = otlp_targets(site_port, site, lambda: psql_count(url, stored_sql))
        else:
            minimal = subprocess.Popen(
                [sys.executable, "-m", *gunicorn("bench.minimal_ingest:application", minimal_port, args)],
                cwd=ROOT,
                env=env,
            )
            earlier.append((minimal, None))
            targets = [
                Target(
                    "minimal durable",
                    f"http://127.0.0.1:{minimal_port}/api/v1/ingest",
                    minimal,
                    lambda: minimal_ingest.stored_calls(url),
                    "minimal",
                ),
                Target(
                    "project ingest",
                    f"http://127.0.0.1:{site_port}/api/v1/ingest",
                    site,
                    lambda: psql_count(url, stored_sql),
                    "project",
                ),
            ]
        for position, revision in enumerate(args.against, start=1):
            # The revision exported whole (no git metadata) and served from there, first on the path.
            export = Path(tempfile.mkdtemp(prefix="ingest-against-"))
            archive = subprocess.run(["git", "archive", revision], cwd=ROOT, capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", str(export)], input=archive.stdout, check=True)
            port = free_port()
            process = subprocess.Popen(
                [sys.executable, "-m", *gunicorn("resilience_site.wsgi:application", port, args)],
                cwd=export,
                env={**env, "PYTHONPATH": str(export)},
            )
            earlier.append((process, export))
            address = f"http://127.0.0.1:{port}/api/v1/ingest"
            target = Target(
                f"project @{revision}"[:22], address, process, lambda: psql_count(url, stored_sql), "project"
            )
            if args.otlp:  # the revision's OTLP path, as the SDK sends
                target.label, target.url = f"OTLP @{revision}"[:22], f"http://127.0.0.1:{port}/otlp/v1/metrics"
                target.lua, target.bodies, target.extra = OTLP_LUA, otlp_bodies, ["nokey"]
            targets.insert(position, target)
            wait_for_port(port, process, timeout=30)

        def also_serve(label: str, workers: str = "", **settings: str) -> None:
            """The project served once more (other workers or settings), on the same database."""
            port = free_port()
            process = subprocess.Popen(
                [sys.executable, "-m", *gunicorn("resilience_site.wsgi:application", port, args, workers)],
                cwd=ROOT,
                env={**env, **settings},
            )
            earlier.append((process, None))
            address = f"http://127.0.0.1:{port}/api/v1/ingest"
            targets.append(Target(label[:22], address, process, lambda: psql_count(url, stored_sql), "project"))
            wait_for_port(port, process, timeout=30)

        for workers in args.also_workers:
            also_serve(f"project {workers}", workers)
        if args.without_group_commit:
            also_serve("project, no group", MONITOR_GROUP_COMMIT="0")
        if args.validate:
            targets.append(
                Target("project validate-only", f"http://127.0.0.1:{site_port}/api/v1/ingest/validate", site)
            )
        try:
            wait_for_port(site_port, site, timeout=30)
            if not args.otlp:
                wait_for_port(minimal_port, minimal, timeout=30)
            pg_pid = postmaster_pid(pg.port)
            run_phases(targets, token, args.connections, args.rounds, args.seconds, pg_pid)
        finally:
            stop(site)
            for process, export in earlier:
                stop(process)
                if export is not None:
                    shutil.rmtree(export, ignore_errors=True)
        agree = report(targets, args.connections)
        print(f"load average at the end: {os.getloadavg()[0]:.1f} (other work on the machine shows here)")
    if not agree:
        sys.exit(1)


if __name__ == "__main__":
    main()
