"""Alert evaluation time and breaker-to-webhook latency on PostgreSQL.

1. Evaluation: seeds N functions (default 10,000) with five minutes of call buckets, some
   breakers and queues, and times evaluation rounds over the default rules (target:
   under 1 s a round). The first round fires the alerts; later rounds are the steady state.
2. Breaker to webhook: the site under gunicorn, a Celery worker on Redis and a local
   webhook receiver; posts batches that open a breaker and times each until its webhook
   arrives (target: p95 under 2 s).

    .venv/bin/python -m bench.alerts [--functions 10000] [--rounds 5] [--samples 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson

from tests.servers import free_port, postgres_server, redis_server, stop, wait_for_port

ROOT = Path(__file__).resolve().parent.parent

PER_SERVICE = 1000


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def setup_django(env: dict) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "resilience_site.settings")
    import django

    django.setup()


def seed(functions: int) -> None:
    from monitoring import histogram
    from monitoring.health import window_start
    from monitoring.models import Breaker, CallBucket, Function, Service
    from queues.models import Queue, Snapshot

    now = datetime.now(UTC)
    services = [Service.objects.create(name=f"svc{i:03}") for i in range((functions + PER_SERVICE - 1) // PER_SERVICE)]
    Function.objects.bulk_create(
        [Function(service=services[i // PER_SERVICE], name=f"fn{i:05}", last_seen=now) for i in range(functions)],
        batch_size=5000,
    )
    ids = list(Function.objects.order_by("id").values_list("id", flat=True))
    start = window_start(5, now)
    buckets = []
    for n, function_id in enumerate(ids):
        failing = n % 100 == 0  # 1 % of functions over the error-rate threshold
        slow = n % 250 == 1
        latency = 2500.0 if slow else 40.0 + n % 200
        for minute in range(5):
            calls = 20
            failures = 10 if failing else n % 2
            buckets.append(
                CallBucket(
                    function_id=function_id,
                    minute=start + timedelta(minutes=minute),
                    success=calls - failures,
                    failure=failures,
                    retries=n % 3,
                    latency_sum_ms=latency * calls,
                    latency_max_ms=latency * 1.5,
                    histogram={
                        str(histogram.bucket_of(latency)): calls - 2,
                        str(histogram.bucket_of(latency * 1.4)): 2,
                    },
                )
            )
    CallBucket.objects.bulk_create(buckets, batch_size=5000)
    Breaker.objects.bulk_create(
        [
            Breaker(
                function_id=fid,
                instance="pod-1",
                state="open" if i % 500 == 0 else "closed",
                since=now - timedelta(minutes=3),
                updated=now,
            )
            for i, fid in enumerate(ids[::10])
        ],
        batch_size=5000,
    )
    queues = Queue.objects.bulk_create([Queue(service=services[0], name=f"q{i}", last_seen=now) for i in range(200)])
    Snapshot.objects.bulk_create(
        [
            Snapshot(queue=q, at=now - timedelta(minutes=m), depth=10, dead_letter=(i % 20 == 0) * (5 - m))
            for i, q in enumerate(queues)
            for m in range(5)
        ]
    )


def bench_evaluation(functions: int, rounds: int) -> dict:
    from alerts.evaluate import evaluate_all
    from alerts.models import Alert, Rule

    print(f"seeding {functions} functions with five minutes of calls ...", flush=True)
    seed(functions)
    timings = []
    for i in range(rounds):
        started = time.perf_counter()
        outcome = evaluate_all()
        timings.append(time.perf_counter() - started)
        print(f"  round {i + 1}: {timings[-1]:.3f} s  {outcome}", flush=True)
    return {
        "rules": Rule.objects.filter(enabled=True).count(),
        "alerts": Alert.objects.count(),
        "first_s": timings[0],
        "steady_s": statistics.median(timings[1:]) if len(timings) > 1 else timings[0],
        "max_steady_s": max(timings[1:]) if len(timings) > 1 else timings[0],
    }


class Receiver:
    """Records when each webhook arrives, by the function it names."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                at = time.time()
                alert = orjson.loads(body)["alert"]
                with receiver.changed:
                    receiver.arrived.setdefault(alert.get("subject", ""), at)
                    receiver.changed.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, subject: str, timeout: float = 30.0) -> float:
        with self.changed:
            if not self.changed.wait_for(lambda: subject in self.arrived, timeout=timeout):
                raise RuntimeError(f"no webhook for {subject} within {timeout} s")
            return self.arrived[subject]


def post(port: int, token: str, body: dict) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/ingest",
        data=orjson.dumps(body),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return response.status


def bench_breaker_latency(env: dict, samples: int) -> dict:
    from alerts.models import Channel, Rule

    receiver = Receiver()
    hook = Channel.objects.create(
        name="bench hook",
        kind="webhook",
        config={"url": receiver.url, "secret": "bench-secret-bench-secret"},
        rate_per_minute=10_000,
    )  # measure latency, not the rate limit
    Rule.objects.filter(metric="breaker_open_s").get().channels.add(hook)
    token = manage(env, "create_service", "latency")
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "resilience_site.wsgi:application",
            "-k",
            "gthread",
            "-w",
            "2",
            "--threads",
            "4",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--no-control-socket",
        ],
        cwd=ROOT,
        env=env,
    )
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "resilience_site",
            "worker",
            "--pool=prefork",
            "--concurrency=2",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
    )
    latencies = []
    try:
        wait_for_port(port, server, timeout=30)
        time.sleep(3)  # the worker connects to Redis
        for i in range(samples):
            function = f"flaky{i:03}"
            ts = datetime.now(UTC).isoformat()
            started = time.time()
            status = post(
                port, token, {"instance": "pod-1", "breakers": [{"function": function, "state": "open", "ts": ts}]}
            )
            if status != 202:
                raise RuntimeError(f"ingest answered {status}")
            latencies.append(receiver.wait_for(function) - started)
    finally:
        stop(worker)
        stop(server)
        receiver.server.shutdown()
    latencies.sort()
    return {
        "samples": len(latencies),
        "p50_s": statistics.median(latencies),
        "p95_s": latencies[max(0, int(len(latencies) * 0.95) - 1)],
        "max_s": latencies[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--samples", type=int, default=40)
    args = parser.parse_args()

    with postgres_server() as pg, redis_server() as redis_url:
        subprocess.run(["psql", pg.url(), "-qc", "CREATE DATABASE monitor_bench"], check=True)
        env = {
            **os.environ,
            "DATABASE_URL": pg.url("monitor_bench"),
            "SECRET_KEY": "bench-only-secret-key-not-for-production-use",
            "LOG_LEVEL": "ERROR",
            "PYTHONPATH": str(ROOT),
            "MONITOR_ALLOW_PRIVATE_WEBHOOK_TARGETS": "1",
            "MONITOR_RECIPIENT_RATE_PER_HOUR": "100000",
            "MONITOR_MAX_FUNCTIONS_PER_SERVICE": str(max(args.samples, PER_SERVICE)),
        }
        print("migrating a fresh PostgreSQL database ...", flush=True)
        manage(env, "migrate", "--noinput", "-v0")
        # This process evaluates in-process (no REDIS_URL); the site and the worker use Redis.
        setup_django(env)
        evaluation = bench_evaluation(args.functions, args.rounds)
        latency = bench_breaker_latency({**env, "REDIS_URL": redis_url}, args.samples)

    print()
    print(
        f"evaluation, {args.functions} functions x {evaluation['rules']} default rules "
        f"({evaluation['alerts']} alerts open):"
    )
    print(
        f"  first round (fires) {evaluation['first_s']:.3f} s; steady rounds median {evaluation['steady_s']:.3f} s, "
        f"max {evaluation['max_steady_s']:.3f} s  (target < 1 s)"
    )
    print(f"breaker open batch -> webhook arrived, {latency['samples']} samples:")
    print(
        f"  p50 {latency['p50_s'] * 1000:.0f} ms, p95 {latency['p95_s'] * 1000:.0f} ms, "
        f"max {latency['max_s'] * 1000:.0f} ms  (target p95 < 2000 ms)"
    )


if __name__ == "__main__":
    main()
