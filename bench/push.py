"""Live dashboard push: commit-to-browser delay and the cost to ingest, in the production layout.

Starts a throwaway PostgreSQL and Redis, the site under gunicorn (WSGI: ingest and the read
API) and under uvicorn (ASGI: the websockets), both on the Redis channel layer. Then sends
100-item batches at full speed from --connections keep-alive clients, in phases of
--seconds that alternate, --rounds times:

  - no dashboard open (a baseline), then
  - --dashboards open dashboards (websocket clients in a separate process; like the
    functions page each asks for its table's rendered fragment, --refetch, at most every
    --refetch-every seconds when a delta names a service; 0 measures the push alone),

and ends with one more baseline. Each dashboard phase is compared with the mean of the
baselines either side of it, so a drift over the run (this machine's baselines move by up
to 30 %) does not pass for a cost. Prints ingest items/s per phase, each round's cost and
their median, the delay from the earliest commit in a delta to its arrival at a dashboard
(p50/p95/max), and messages per second per dashboard.

    .venv/bin/python -m bench.push [--seconds 10] [--rounds 3] [--dashboards 20] [--connections 16] [--workers 2]
        [--refetch /api/v1/functions?limit=200&max_age=2]   (the JSON read API, as pages asked before fragments)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# The ingest load generator is bench/ingest.py's: the same batches, the same client.
from bench import ingest as bench_ingest
from tests.servers import free_port, postgres_server, redis_server, stop, wait_for_port

ROOT = Path(__file__).resolve().parent.parent

SESSION_FOR_BENCH_USER = """
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
user = get_user_model().objects.create_user("bench-viewer", password="bench-viewer-password")
session = SessionStore()
session["_auth_user_id"] = str(user.pk)
session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
session["_auth_user_hash"] = user.get_session_auth_hash()
session.create()
print(session.session_key)
"""


async def dashboard(
    ws_port: int, http_port: int, session: str, seconds: float, refetch_every: float, refetch: str
) -> dict:
    import httpx
    from websockets.asyncio.client import connect

    delays: list[float] = []
    messages = 0
    fetches: list[asyncio.Task] = []
    cookie = f"sessionid={session}"
    origin = f"http://127.0.0.1:{ws_port}"
    # A fresh connection per re-fetch: gunicorn closes idle keep-alive connections after 2 s,
    # and a browser would retry a request that raced that close; httpx does not.
    http_client = httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{http_port}",
        cookies={"sessionid": session},
        headers={"HX-Request": "true"},
        timeout=30.0,
        limits=httpx.Limits(max_keepalive_connections=0),
    )
    async with http_client as http:
        async with connect(
            f"ws://127.0.0.1:{ws_port}/ws/dashboard/", additional_headers={"Cookie": cookie, "Origin": origin}
        ) as ws:
            hello = json.loads(await ws.recv())
            assert hello["type"] == "hello", hello
            deadline = time.monotonic() + seconds
            last_fetch = 0.0
            while (left := deadline - time.monotonic()) > 0:
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=left)
                except TimeoutError:
                    break
                arrived = time.time()
                message = json.loads(raw)
                if message.get("type") != "delta":
                    continue
                messages += 1
                if message["committed_at"] is not None:
                    delays.append(arrived - message["committed_at"])
                if refetch_every and message["services"] and time.monotonic() - last_fetch >= refetch_every:
                    last_fetch = time.monotonic()
                    url = f"{refetch}&newer_than={message['sent_at']}"
                    fetches.append(asyncio.ensure_future(http.get(url)))
            answers = await asyncio.gather(*fetches, return_exceptions=True)
    failed = [
        repr(a) if isinstance(a, Exception) else f"HTTP {a.status_code}"
        for a in answers
        if isinstance(a, Exception) or a.status_code != 200
    ]
    return {"delays": delays, "messages": messages, "fetches": len(answers), "failed_fetches": failed}


async def dashboards(
    count: int, ws_port: int, http_port: int, session: str, seconds: float, refetch_every: float, refetch: str
) -> list[dict]:
    watching = (ws_port, http_port, session, seconds, refetch_every, refetch)
    return await asyncio.gather(*(dashboard(*watching) for _ in range(count)))


def run_dashboards(args: tuple, queue: multiprocessing.Queue) -> None:
    started, cpu_before = time.monotonic(), time.process_time()
    seen = asyncio.run(dashboards(*args))
    queue.put((seen, (time.process_time() - cpu_before) / (time.monotonic() - started)))


PARTS = {
    "postgres": "PostgreSQL",
    "redis-server": "Redis",
    "gunicorn": "gunicorn (ingest, read API)",
    "uvicorn": "uvicorn (websockets)",
}


def cpu_by_part() -> dict[str, float]:
    """CPU seconds used so far by the servers this benchmark started, by what they are.

    Counts each live process under this one and the children it has reaped (PostgreSQL's
    backends that ended), read from /proc.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    parent, used, command = {}, {}, {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            command[int(entry)] = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parent[int(entry)] = int(fields[1])
        used[int(entry)] = sum(int(value) for value in fields[11:15]) / ticks
    totals = dict.fromkeys(PARTS.values(), 0.0)
    for pid in used:
        ancestor = pid
        while parent.get(ancestor) not in (os.getpid(), None, 0):
            ancestor = parent[ancestor]
        if parent.get(ancestor) != os.getpid():
            continue
        part = next((name for marker, name in PARTS.items() if marker in command.get(ancestor, "")), None)
        if part is not None:
            totals[part] += used[pid]
    return totals


def measured(phase: Callable[[], dict]) -> dict:
    """Runs a phase; adds the CPU each part used meanwhile, in cores (1.0 = one core busy)."""
    before, started, own_before = cpu_by_part(), time.monotonic(), load_generator_cpu()
    row = phase()
    elapsed = time.monotonic() - started
    after = cpu_by_part()
    row["cores"] = {part: (after[part] - before[part]) / elapsed for part in after}
    row["cores"]["load generator"] = (load_generator_cpu() - own_before) / elapsed
    return row


def load_generator_cpu() -> float:
    """This process and the wrk runs it has waited for (the simulated browsers' process is
    reaped only after the phase, so it is not counted here but on its own line)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def ingest_phase(port: int, token: str, connections: int, seconds: float) -> dict:
    """bench/ingest.py's load: wrk sending its batches, each with a fresh batch_id."""
    with tempfile.TemporaryDirectory(prefix="push-bodies-") as folder:
        bodies = bench_ingest.json_bodies(Path(folder))
        tag = f"push{time.monotonic_ns() % 10**12}"
        command = ["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{max(1, round(seconds))}s"]
        command += ["--timeout", "30s", "-s", str(bench_ingest.LUA), f"http://127.0.0.1:{port}/api/v1/ingest"]
        out = subprocess.run(
            [*command, "--", bodies[0], token, tag, *bodies[1:]], capture_output=True, text=True, check=True
        )
    figures = json.loads(next(line for line in out.stdout.splitlines() if line.startswith('{"requests"')))
    ok = figures["requests"] - figures["status_errors"]
    failed = {kind: figures[kind] for kind in ("status_errors", "connect", "read", "write", "timeout") if figures[kind]}
    return {
        "items_per_s": ok * bench_ingest.ITEMS / (figures["duration_us"] / 1e6),
        "p50_ms": figures["p50_us"] / 1000,
        "p99_ms": figures["p99_us"] / 1000,
        "errors": ", ".join(f"{kind} {count}" for kind, count in failed.items()),
    }


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3, help="dashboard phases, each between two baselines")
    parser.add_argument("--dashboards", type=int, default=20)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--refetch-every",
        type=float,
        default=2.0,
        help="seconds between a dashboard's re-fetches of --refetch (0: never, push only)",
    )
    parser.add_argument(
        "--refetch",
        default="/fragments/functions/table?max_age=2",
        help="what a dashboard asks for after a delta (with &newer_than= the delta's sent_at)",
    )
    args = parser.parse_args()

    with postgres_server() as pg, redis_server() as redis_url:
        subprocess.run(["psql", pg.url(), "-qc", "CREATE DATABASE monitor_bench"], check=True)
        env = {
            **os.environ,
            "DATABASE_URL": pg.url("monitor_bench"),
            "REDIS_URL": redis_url,
            "MONITOR_MAX_REQUESTS_PER_MINUTE": "100000000",
            "SECRET_KEY": "bench-only-secret-key-not-for-production-use",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
            "DEMO": "0",
        }
        print("migrating a fresh PostgreSQL database ...", flush=True)
        manage(env, "migrate", "--noinput", "-v0")
        token = manage(env, "create_service", "bench")
        session = manage(env, "shell", "-c", SESSION_FOR_BENCH_USER).splitlines()[-1]
        http_port, ws_port = free_port(), free_port()
        wsgi = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "resilience_site.wsgi:application",
                "-k",
                "gthread",
                "-w",
                str(args.workers),
                "--threads",
                str(args.threads),
                "-b",
                f"127.0.0.1:{http_port}",
                "--log-level",
                "warning",
                "--no-control-socket",
            ],
            cwd=ROOT,
            env=env,
        )
        asgi = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "resilience_site.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(ws_port),
                "--log-level",
                "warning",
                "--lifespan",
                "off",
            ],
            cwd=ROOT,
            env=env,
        )
        try:
            wait_for_port(http_port, wsgi, timeout=30)
            wait_for_port(ws_port, asgi, timeout=30)
            ingest_phase(http_port, token, 2, 1.0)  # warm-up: functions created, connections open
            watch = (args.dashboards, ws_port, http_port, session, args.seconds + 2.0, args.refetch_every, args.refetch)
            baselines, rounds = [baseline_phase(http_port, token, args)], []
            for number in range(1, args.rounds + 1):
                rounds.append(dashboard_phase(http_port, token, args, watch, number))
                baselines.append(baseline_phase(http_port, token, args))
        finally:
            stop(asgi)
            stop(wsgi)
    report(args, baselines, rounds)


def baseline_phase(port: int, token: str, args: argparse.Namespace) -> dict:
    print(f"baseline: ingest for {args.seconds:.0f} s, no dashboard ...", flush=True)
    return measured(lambda: ingest_phase(port, token, args.connections, args.seconds))


def dashboard_phase(port: int, token: str, args: argparse.Namespace, watch: tuple, number: int) -> dict:
    print(f"round {number}: ingest for {args.seconds:.0f} s with {args.dashboards} dashboards ...", flush=True)
    queue: multiprocessing.Queue = multiprocessing.Queue()
    watcher = multiprocessing.Process(target=run_dashboards, args=(watch, queue))
    watcher.start()
    time.sleep(1.0)  # let the sockets connect before the load starts
    during = measured(lambda: ingest_phase(port, token, args.connections, args.seconds))
    during["seen"], watcher_cores = queue.get(timeout=args.seconds + 60)
    watcher.join()
    # The simulated browsers run here too; a real one runs on the viewer's machine.
    during["cores"]["simulated browsers"] = watcher_cores
    return during


def report(args: argparse.Namespace, baselines: list[dict], rounds: list[dict]) -> None:
    print()
    print(f"{'phase':<28} {'items/s':>10} {'p50 ms':>8} {'p99 ms':>8}  {'cost':>7}  errors")
    costs = []
    for number, during in enumerate(rounds, start=1):
        before, after = baselines[number - 1], baselines[number]
        cost = 1 - during["items_per_s"] / statistics.mean([before["items_per_s"], after["items_per_s"]])
        costs.append(cost)
        if number == 1:
            print_phase("no dashboard", before, "")
        print_phase(f"{args.dashboards} dashboards (round {number})", during, f"{cost * 100:6.1f}%")
        print_phase("no dashboard", after, "")
    print(
        f"cost to ingest throughput, each round against the baselines either side: "
        f"median {statistics.median(costs) * 100:.1f} % (rounds: {', '.join(f'{c * 100:.1f} %' for c in costs)})"
    )
    seen = [s for during in rounds for s in during["seen"]]
    delays = [d for s in seen for d in s["delays"]]
    rates = [s["messages"] / (args.seconds + 1.0) for s in seen]
    print(
        f"commit -> dashboard delay over {len(delays)} messages: p50 {percentile(delays, 0.5) * 1000:.0f} ms, "
        f"p95 {percentile(delays, 0.95) * 1000:.0f} ms, max {max(delays, default=float('nan')) * 1000:.0f} ms"
    )
    print(
        f"messages per dashboard per second: mean {statistics.mean(rates):.2f}, max {max(rates):.2f}; "
        f"read-API re-fetches {sum(s['fetches'] for s in seen)} in {len(rounds)} rounds"
    )
    print()
    print(
        "CPU used during the phases, in cores (1.00 = one core busy; this machine has "
        f"{os.cpu_count()}), mean over the phases:"
    )
    parts = list(rounds[0]["cores"])
    print(f"{'':<30} {'no dashboard':>13} {'dashboards':>11}")
    for part in parts:
        idle = statistics.mean(row["cores"].get(part, 0.0) for row in baselines)
        busy = statistics.mean(row["cores"][part] for row in rounds)
        print(f"{part:<30} {idle:>13.2f} {busy:>11.2f}")
    failures = [failure for s in seen for failure in s["failed_fetches"]]
    if failures:
        print(f"{len(failures)} re-fetches failed, e.g. {sorted(set(failures))[:3]}")


def print_phase(label: str, row: dict, cost: str) -> None:
    figures = f"{row['items_per_s']:>10.0f} {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f}"
    print(f"{label:<28} {figures}  {cost:>7}  {row['errors'] or ''}")


if __name__ == "__main__":
    main()
