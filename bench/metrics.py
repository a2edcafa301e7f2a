"""What a Prometheus scrape of /metrics costs as the fleet grows, and what the minute's fold costs.

Starts a throwaway PostgreSQL and the site under gunicorn (2 workers), seeds N functions over
20 services straight in SQL, then alternates, over --rounds rounds, --requests scrapes of
GET /metrics with as many GETs of one function's row (/api/v1/functions/{id}, the baseline
the read benchmark uses), and prints the median p50 and p99 of each and the answer's size.
Scrapes go with the owner's token (no project filter) and with a project member's (each
query filtered by project: the default one, which holds the whole fleet).
Then it times totals.fold() over one minute of the whole fleet (ingest waits that long, once
a minute, on PostgreSQL).

The seeded fleet is the worst case the scrape meets: every function has its folded totals
and a minute bucket in each of the last 60 minutes, with the mark 7 minutes back (the
most a fold every minute leaves unfolded), so the scrape adds 7 buckets per function to
its totals; one in ten functions has a breaker and a concurrency gauge on two instances;
200 queues have an hour of snapshots (alerts and deliveries are not seeded: two counts
by state, on indexed columns).

    .venv/bin/python -m bench.metrics [--functions 1000 10000] [--rounds 5] [--requests 10]
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tests.servers import free_port, postgres_server, stop, wait_for_port

from .reads import BENCH_USER, FLEET_SEED, manage, p99, psql

ROOT = Path(__file__).resolve().parent.parent

SEED = (
    FLEET_SEED
    + """
INSERT INTO monitoring_calltotalmark (id, through) VALUES (1, date_trunc('minute', now()) - interval '7 minutes');

INSERT INTO monitoring_calltotal (function_id, success, failure, timeout, rejected, retries, latency_sum_ms,
    bin0, bin1, bin2, bin3, bin4, bin5, bin6, bin7, bin8, bin9, bin10, bin11, bin12, bin13)
SELECT id, 1000000, 5000, 100, 10, 20000, 180000000.0, 0, 0, 0, 0, 0, 0, 0, 10000, 900000, 105110, 0, 0, 0, 0
FROM monitoring_function;

INSERT INTO monitoring_breaker (function_id, instance, state, since, updated)
SELECT id, 'pod-' || i, CASE WHEN id % 20 = 0 THEN 'open' ELSE 'closed' END, now(), now()
FROM monitoring_function, generate_series(1, 2) AS i WHERE id % 10 = 0;

INSERT INTO monitoring_concurrency (function_id, instance, active, "limit", queued, at)
SELECT id, 'pod-' || i, 3, 10, 1, now() FROM monitoring_function, generate_series(1, 2) AS i WHERE id % 10 = 0;

INSERT INTO queues_queue (service_id, name, created, last_seen)
SELECT (SELECT id FROM monitoring_service ORDER BY id OFFSET (q % 20) LIMIT 1), 'queue' || q, now(), now()
FROM generate_series(0, 199) AS q;

INSERT INTO queues_snapshot (queue_id, at, depth, in_flight, dead_letter, oldest_age_s)
SELECT q.id, m, 100, 4, 2, 31.5
FROM queues_queue q, generate_series(now() - interval '59 minutes', now(), interval '1 minute') AS m;

ANALYZE;
"""
)

# The owner's token scrapes without a project filter; the bench user's (a viewer of the
# default project, which holds the fleet) with one in each query: the same answer.
OWNER = "from django.contrib.auth.models import User; User.objects.create(username='owner', is_superuser=True)"

FOLD_ONE_MINUTE = """
import time
from datetime import timedelta
from django.utils import timezone
from monitoring import totals
from monitoring.models import CallTotalMark
took = []
for _ in range({folds}):
    CallTotalMark.objects.filter(pk=1).update(through=totals.settled(timezone.now()) - timedelta(minutes=1))
    start = time.perf_counter()
    added = totals.fold()
    took.append(time.perf_counter() - start)
print(added, *took)
"""


def timed(connection: http.client.HTTPConnection, path: str, token: str, count: int) -> tuple[list[float], int]:
    took, size = [], 0
    for _ in range(count):
        start = time.perf_counter()
        connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        size = len(response.read())
        took.append(time.perf_counter() - start)
        if response.status != 200:
            raise SystemExit(f"{path} answered {response.status}")
    return took, size


def measure(url: str, env: dict, functions: int, rounds: int, requests: int) -> dict[str, dict]:
    print(f"seeding {functions} functions ...", flush=True)
    psql(url, SEED.format(functions=functions))
    api_token = manage(env, "create_user_token", "bench")
    metrics_token = manage(env, "create_user_token", "bench", "--scope", "metrics:read")
    owner_token = manage(env, "create_user_token", "owner", "--scope", "metrics:read")
    function_id = int(psql(url, "SELECT min(id) FROM monitoring_function"))
    port = free_port()
    command = ["gunicorn", "resilience_site.wsgi:application", "-w", "2", "-b", f"127.0.0.1:{port}"]
    server = subprocess.Popen(
        [sys.executable, "-m", *command, "--log-level", "warning", "--no-control-socket", "--timeout", "120"],
        cwd=ROOT,
        env=env,
    )
    phases = {
        "baseline: one function": (f"/api/v1/functions/{function_id}", api_token),
        "scrape /metrics": ("/metrics", owner_token),
        "scrape, a member's token": ("/metrics", metrics_token),
    }
    samples: dict[str, list[list[float]]] = {}
    sizes: dict[str, int] = {}
    try:
        wait_for_port(port, server, timeout=30)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for path, token in phases.values():  # warm the database's cache and both workers
            timed(connection, path, token, 2)
        for round_ in range(rounds):
            order = list(phases.items())
            if round_ % 2:
                order.reverse()
            for name, (path, token) in order:
                took, sizes[name] = timed(connection, path, token, requests)
                samples.setdefault(name, []).append(took)
    finally:
        stop(server)
    folded = manage(env, "shell", "-c", FOLD_ONE_MINUTE.format(folds=rounds)).splitlines()[-1].split()
    fold_s = [float(s) for s in folded[1:]]
    results = {
        name: {
            "p50_ms": statistics.median(statistics.median(r) for r in rounds_) * 1000,
            "p99_ms": statistics.median(p99(r) for r in rounds_) * 1000,
            "spread_ms": (max(statistics.median(r) for r in rounds_) - min(statistics.median(r) for r in rounds_))
            * 1000,
            "bytes": sizes[name],
        }
        for name, rounds_ in samples.items()
    }
    results["fold one minute"] = {
        "p50_ms": statistics.median(fold_s) * 1000,
        "p99_ms": max(fold_s) * 1000,
        "spread_ms": (max(fold_s) - min(fold_s)) * 1000,
        "bytes": int(folded[0]),
    }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=10, help="requests per phase per round")
    args = parser.parse_args()

    results: dict[int, dict[str, dict]] = {}
    with postgres_server(durable=True) as pg:
        for functions in args.functions:
            database = f"monitor_metrics_{functions}"
            psql(pg.url(), f"CREATE DATABASE {database}")
            env = {
                **os.environ,
                "DATABASE_URL": pg.url(database),
                "SECRET_KEY": "bench-only-secret-key-not-for-production-use",
                "MONITOR_MAX_FUNCTIONS_PER_SERVICE": "100000",
                "DEMO": "0",
                "PYTHONPATH": str(ROOT),
            }
            env.pop("REDIS_URL", None)
            manage(env, "migrate", "--noinput", "-v0")
            manage(env, "shell", "-c", BENCH_USER)
            manage(env, "shell", "-c", OWNER)
            results[functions] = measure(pg.url(database), env, functions, args.rounds, args.requests)

    print(f"\n{'functions':>10}  {'phase':<24}{'p50 ms':>9}{'p99 ms':>9}{'spread':>9}{'bytes':>11}")
    for functions, figures in results.items():
        for name, row in figures.items():
            size = f"{row['bytes']:>11}" if name != "fold one minute" else f"{row['bytes']:>7} fns"
            print(
                f"{functions:>10}  {name:<24}{row['p50_ms']:>9.1f}{row['p99_ms']:>9.1f}{row['spread_ms']:>9.1f}{size}"
            )


if __name__ == "__main__":
    main()
