"""Live dashboard push: commit-to-browser delay and the cost to ingest, in the production layout.

Starts a throwaway PostgreSQL and Redis, the site under gunicorn (WSGI: ingest and the read
API) and under uvicorn (ASGI: the websockets), both on the Redis channel layer. Then, for
--seconds each, sends 100-item batches at full speed from --connections keep-alive clients:

  1. with no dashboard open (baseline),
  2. with --dashboards open dashboards (websocket clients in a separate process; like
     static/js/functions.js each re-fetches /api/v1/functions at most every
     --refetch-every seconds when a delta names a service; 0 measures the push alone),
  3. with none again (a second baseline, to see drift).

Prints ingest items/s per phase, the cost of the dashboards against the mean baseline, the
delay from the earliest commit in a delta to its arrival at a dashboard (p50/p95/max), and
messages per second per dashboard.

    .venv/bin/python bench/push.py [--seconds 10] [--dashboards 20] [--connections 16] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import free_port, postgres_server, redis_server, stop, wait_for_port  # noqa: E402

# The ingest load generator is bench/ingest.py's: the same batches, the same client.
_spec = importlib.util.spec_from_file_location("bench_ingest", ROOT / "bench" / "ingest.py")
bench_ingest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_ingest)

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


async def dashboard(ws_port: int, http_port: int, session: str, seconds: float, refetch_every: float) -> dict:
    import httpx
    from websockets.asyncio.client import connect

    delays: list[float] = []
    messages = 0
    fetches: list[asyncio.Task] = []
    cookie = f"sessionid={session}"
    origin = f"http://127.0.0.1:{ws_port}"
    # A fresh connection per re-fetch: gunicorn closes idle keep-alive connections after 2 s,
    # and a browser would retry a request that raced that close; httpx does not.
    http_client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}", cookies={"sessionid": session},
                                    timeout=30.0, limits=httpx.Limits(max_keepalive_connections=0))
    async with http_client as http:
        async with connect(f"ws://127.0.0.1:{ws_port}/ws/dashboard/", additional_headers={"Cookie": cookie, "Origin": origin}) as ws:
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
                    url = f"/api/v1/functions?limit=200&max_age=2&newer_than={message['sent_at']}"
                    fetches.append(asyncio.ensure_future(http.get(url)))
            answers = await asyncio.gather(*fetches, return_exceptions=True)
    failed = [repr(a) if isinstance(a, Exception) else f"HTTP {a.status_code}" for a in answers
              if isinstance(a, Exception) or a.status_code != 200]
    return {"delays": delays, "messages": messages, "fetches": len(answers), "failed_fetches": failed}


async def dashboards(count: int, ws_port: int, http_port: int, session: str, seconds: float, refetch_every: float) -> list[dict]:
    return await asyncio.gather(*(dashboard(ws_port, http_port, session, seconds, refetch_every) for _ in range(count)))


def run_dashboards(args: tuple, queue: multiprocessing.Queue) -> None:
    queue.put(asyncio.run(dashboards(*args)))


def manage(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def ingest_phase(port: int, token: str, connections: int, seconds: float) -> dict:
    results, elapsed = asyncio.run(bench_ingest.load(port, "/api/v1/ingest", token, connections, seconds))
    return bench_ingest.summarise("ingest", results, elapsed)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--dashboards", type=int, default=20)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--refetch-every", type=float, default=2.0,
                        help="seconds between a dashboard's re-fetches of /api/v1/functions (0: never, push only)")
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
            [sys.executable, "-m", "gunicorn", "resilience_site.wsgi:application", "-k", "gthread",
             "-w", str(args.workers), "--threads", str(args.threads), "-b", f"127.0.0.1:{http_port}", "--log-level", "warning"],
            cwd=ROOT, env=env,
        )
        asgi = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "resilience_site.asgi:application", "--host", "127.0.0.1",
             "--port", str(ws_port), "--log-level", "warning", "--lifespan", "off"],
            cwd=ROOT, env=env,
        )
        try:
            wait_for_port(http_port, wsgi, timeout=30)
            wait_for_port(ws_port, asgi, timeout=30)
            ingest_phase(http_port, token, 2, 1.0)  # warm-up: functions created, connections open
            print(f"baseline: ingest for {args.seconds:.0f} s, no dashboard ...", flush=True)
            before = ingest_phase(http_port, token, args.connections, args.seconds)

            print(f"ingest for {args.seconds:.0f} s with {args.dashboards} dashboards ...", flush=True)
            queue: multiprocessing.Queue = multiprocessing.Queue()
            watch = (args.dashboards, ws_port, http_port, session, args.seconds + 2.0, args.refetch_every)
            watcher = multiprocessing.Process(target=run_dashboards, args=(watch, queue))
            watcher.start()
            time.sleep(1.0)  # let the sockets connect before the load starts
            during = ingest_phase(http_port, token, args.connections, args.seconds)
            seen = queue.get(timeout=args.seconds + 60)
            watcher.join()

            print(f"baseline again: ingest for {args.seconds:.0f} s, no dashboard ...", flush=True)
            after = ingest_phase(http_port, token, args.connections, args.seconds)
        finally:
            stop(asgi)
            stop(wsgi)

    baseline = statistics.mean([before["items_per_s"], after["items_per_s"]])
    delays = [d for s in seen for d in s["delays"]]
    rates = [s["messages"] / (args.seconds + 1.0) for s in seen]
    print()
    print(f"{'phase':<28} {'items/s':>10} {'p50 ms':>8} {'p99 ms':>8}  errors")
    for label, row in [("no dashboard", before), (f"{args.dashboards} dashboards", during), ("no dashboard again", after)]:
        print(f"{label:<28} {row['items_per_s']:>10.0f} {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f}  {row['errors'] or ''}")
    print(f"cost to ingest throughput: {(1 - during['items_per_s'] / baseline) * 100:.1f} % (against the mean baseline)")
    print(
        f"commit -> dashboard delay over {len(delays)} messages: p50 {percentile(delays, 0.5) * 1000:.0f} ms, "
        f"p95 {percentile(delays, 0.95) * 1000:.0f} ms, max {max(delays, default=float('nan')) * 1000:.0f} ms"
    )
    print(
        f"messages per dashboard per second: mean {statistics.mean(rates):.2f}, max {max(rates):.2f}; "
        f"read-API re-fetches {sum(s['fetches'] for s in seen)}"
    )
    failures = [failure for s in seen for failure in s["failed_fetches"]]
    if failures:
        print(f"{len(failures)} re-fetches failed, e.g. {sorted(set(failures))[:3]}")


if __name__ == "__main__":
    main()
