"""What the read side costs as the fleet grows: overview, functions list, series, services.

Starts a throwaway PostgreSQL and the site under gunicorn, seeds a fleet of N functions
over 20 services straight in SQL, then times GET requests over keep-alive connections,
endpoint after endpoint, alternating the endpoints over --rounds rounds, and prints the
median p50 and p99 of each, and each p50 as a ratio to a baseline measured in the same
rounds (GET /api/v1/functions/{id}: one function's row).

The seeded fleet: every function has a minute bucket in each of the last 60 minutes, one
in seven of them with failures, one in a hundred with a breaker open or half-open on one
of its instances. --history functions (default 20) also have 14 days of minute buckets and
16 more days of hourly roll-ups before that: their series are the ones timed at each
range. A full 30 days of minutes for all 10,000 functions (two hundred million rows) does
not fit this machine's session; the per-function reads are the same whoever else has
history. The services' roll-ups (what a service's or the fleet's trend reads) are seeded
for the 37 days before the fleet's hour as if the whole fleet had reported all along; the
fold (timed) then adds up the fleet's last hour, as the periodic job would have.

    .venv/bin/python -m bench.reads [--functions 1000 10000] [--rounds 5] [--requests 20]

--before DIR also serves the site from DIR (e.g. `git archive main | tar -x -C DIR`: the
code before a change) on the same database, migrated by this tree; each endpoint is timed
on both sites in turn, in every round, the order swapped every other round, so both see
the same machine and the same warm database. The table then shows before and after.
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

ROOT = Path(__file__).resolve().parent.parent

# The fleet every read benchmark seeds: 20 services, N functions, a minute bucket in each of
# the last 60 minutes (one function in seven failing some calls).
FLEET_SEED = """
INSERT INTO monitoring_service (name, created, project_id)
SELECT 'svc' || lpad(s::text, 2, '0'), now(), (SELECT id FROM monitoring_project WHERE slug = 'default')
FROM generate_series(0, 19) AS s;

INSERT INTO monitoring_function (service_id, name, created, last_seen)
SELECT (SELECT id FROM monitoring_service ORDER BY id OFFSET (f % 20) LIMIT 1),
       'fn' || lpad(f::text, 5, '0'), now(), now()
FROM generate_series(0, {functions} - 1) AS f;

INSERT INTO monitoring_callbucket (function_id, minute, shard, success, failure, timeout, rejected, retries,
                                   latency_sum_ms, latency_max_ms, histogram)
SELECT f.id, m, 0, 20, CASE WHEN f.id % 7 = 0 THEN 3 ELSE 0 END, 0, 0, 1, 20 * 180.0, 900.0,
       jsonb_build_object('190', 8, '200', 6, '210', 4, (200 + f.id % 40)::text, 2)
FROM monitoring_function f,
     generate_series(date_trunc('minute', now()) - interval '59 minutes', date_trunc('minute', now()),
                     interval '1 minute') AS m;
"""

SEED = (
    FLEET_SEED
    + """
INSERT INTO monitoring_breaker (function_id, instance, state, since, updated)
SELECT id, 'pod-1', CASE WHEN id % 200 = 0 THEN 'open' ELSE 'half_open' END, now(), now()
FROM monitoring_function WHERE id % 100 = 0;

INSERT INTO monitoring_callbucket (function_id, minute, shard, success, failure, timeout, rejected, retries,
                                   latency_sum_ms, latency_max_ms, histogram)
SELECT f.id, m, 0, 20, 1, 0, 0, 2, 20 * 180.0, 900.0, '{{"190": 9, "200": 7, "215": 4, "240": 1}}'::jsonb
FROM (SELECT id FROM monitoring_function ORDER BY id LIMIT {history}) AS f,
     generate_series(date_trunc('minute', now()) - interval '14 days',
                     date_trunc('minute', now()) - interval '60 minutes', interval '1 minute') AS m;

INSERT INTO monitoring_callhour (function_id, hour, success, failure, timeout, rejected, retries,
                                 latency_sum_ms, latency_max_ms, histogram)
SELECT f.id, h, 1200, 60, 0, 0, 120, 1200 * 180.0, 900.0, '{{"190": 540, "200": 420, "215": 240, "240": 60}}'::jsonb
FROM (SELECT id FROM monitoring_function ORDER BY id LIMIT {history}) AS f,
     generate_series(date_trunc('hour', now()) - interval '30 days',
                     date_trunc('hour', now()) - interval '14 days 1 hour', interval '1 hour') AS h;

"""
    + """
-- The services' roll-ups before the fleet's hour, as the fold would have written them had
-- the fleet reported all along: a row per service per hour for 37 days (30 days and the week
-- before), per minute for the 14 days minute rows are kept, each with a 100-bucket histogram
-- (a service's spread of latencies), and the fleet's rows (their sums). The fleet's last hour
-- is folded by the fold itself.
INSERT INTO monitoring_rollupmark (id, since, through, hours_version, minutes_version)
VALUES (1, date_trunc('hour', now()) - interval '37 days', date_trunc('minute', now()) - interval '60 minutes', 1, 1);

INSERT INTO monitoring_servicehour (service_id, hour, success, failure, timeout, rejected, retries,
                                    latency_sum_ms, latency_max_ms, histogram)
SELECT s.id, h, 1200 * n, 60 * n / 7, 0, 0, 60 * n, 1200 * n * 180.0, 900.0,
       (SELECT jsonb_object_agg(k::text, 12 * n) FROM generate_series(150, 249) AS k)
FROM monitoring_service s, (SELECT {functions} / 20 AS n) AS fleet,
     generate_series(date_trunc('hour', now()) - interval '37 days',
                     date_trunc('hour', now() - interval '60 minutes') - interval '1 hour', interval '1 hour') AS h;

INSERT INTO monitoring_serviceminute (service_id, minute, success, failure, timeout, rejected, retries,
                                      latency_sum_ms, latency_max_ms, histogram)
SELECT s.id, m, 20 * n, 3 * n / 7, 0, 0, n, 20 * n * 180.0, 900.0, hist.histogram
FROM monitoring_service s, (SELECT {functions} / 20 AS n) AS fleet,
     (SELECT jsonb_object_agg(k::text, {functions} / 100) AS histogram FROM generate_series(150, 249) AS k) AS hist,
     generate_series(date_trunc('hour', now()) - interval '14 days',
                     date_trunc('minute', now()) - interval '61 minutes', interval '1 minute') AS m;

INSERT INTO monitoring_fleethour (hour, success, failure, timeout, rejected, retries, latency_sum_ms, latency_max_ms,
                                  histogram)
SELECT hour, SUM(success), SUM(failure), 0, 0, SUM(retries), SUM(latency_sum_ms), MAX(latency_max_ms),
       (SELECT jsonb_object_agg(k::text, 12 * {functions}) FROM generate_series(150, 249) AS k)
FROM monitoring_servicehour GROUP BY hour;

INSERT INTO monitoring_fleetminute (minute, success, failure, timeout, rejected, retries, latency_sum_ms,
                                    latency_max_ms, histogram)
SELECT minute, SUM(success), SUM(failure), 0, 0, SUM(retries), SUM(latency_sum_ms), MAX(latency_max_ms),
       (SELECT jsonb_object_agg(k::text, {functions} / 5) FROM generate_series(150, 249) AS k)
FROM monitoring_serviceminute GROUP BY minute;

ANALYZE;
"""
)
FOLD = """
import time
from monitoring import rollups
started = time.perf_counter()
written = rollups.fold()
print(written, round(time.perf_counter() - started, 2))
"""
# The bench user: a viewer of the default project, which holds the seeded fleet (a person
# sees their projects' services only).
BENCH_USER = """
from django.contrib.auth.models import User
from monitoring.models import Membership, Project
user = User.objects.create(username='bench')
Membership.objects.create(user=user, project=Project.objects.get(slug='default'), role='viewer')
"""
# A session for the pages (the API takes the bench user's token).
SESSION = """
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
user = User.objects.get(username='bench')
session = SessionStore()
session.update({'_auth_user_id': str(user.pk), '_auth_user_backend': 'django.contrib.auth.backends.ModelBackend',
                '_auth_user_hash': user.get_session_auth_hash()})
session.create()
print(session.session_key)
"""


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def psql(url: str, sql: str) -> str:
    done = subprocess.run(["psql", url, "-qtAc", sql], check=True, capture_output=True, text=True)
    return done.stdout.strip()


def timed(connection: http.client.HTTPConnection, path: str, token: str, count: int) -> list[float]:
    """token: an API token, or for a page (not under /api/) a session key."""
    took = []
    page = not path.startswith("/api/")
    headers = {"Cookie": f"sessionid={token}"} if page else {"Authorization": f"Bearer {token}"}
    for _ in range(count):
        start = time.perf_counter()
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        took.append(time.perf_counter() - start)
        if response.status != 200:
            raise SystemExit(f"{path} answered {response.status}")
    return took


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)]


def endpoints(function_id: int, service_id: int) -> dict[str, str]:
    series = f"/api/v1/functions/{function_id}/series"
    return {
        "baseline: one function": f"/api/v1/functions/{function_id}",
        "overview": "/api/v1/overview",
        "functions, first page": "/api/v1/functions?limit=100",
        "functions, filtered": "/api/v1/functions?service=svc03&q=fn0&limit=100",
        "functions, by health": "/api/v1/functions?health=unhealthy&limit=100",
        "functions, healthy": "/api/v1/functions?health=healthy&limit=100",
        "functions, by error rate": "/api/v1/functions?sort=-error_rate&limit=100",
        "services": "/api/v1/services",
        **{f"series {name}": f"{series}?range={name}" for name in ("1h", "6h", "24h", "7d", "30d")},
        # Trends against a week ago: a service is svc00, whose functions include those with history.
        **{f"fleet trend {name}": f"/api/v1/trend?range={name}" for name in ("1h", "24h", "7d")},
        **{f"service trend {name}": f"/api/v1/services/{service_id}/trend?range={name}" for name in ("24h", "30d")},
        "service series 24h": f"/api/v1/services/{service_id}/series?range=24h",
        "service page (HTML)": f"/services/{service_id}/",
    }


def serve(tree: Path, env: dict) -> tuple[subprocess.Popen, int]:
    port = free_port()
    command = ["gunicorn", "resilience_site.wsgi:application", "-w", "2", "-b", f"127.0.0.1:{port}"]
    server = subprocess.Popen(
        [sys.executable, "-m", *command, "--log-level", "warning", "--no-control-socket"],
        cwd=tree,
        env={**env, "PYTHONPATH": str(tree)},
    )
    wait_for_port(port, server, timeout=30)
    return server, port


def measure(
    url: str, env: dict, functions: int, history: int, rounds: int, requests: int, trees: dict[str, Path]
) -> dict[str, dict[str, dict]]:
    """{site: {endpoint: {"p50_ms", "p99_ms"}}} for each site (tree) served."""
    print(f"seeding {functions} functions ({history} with 30 days of history) ...", flush=True)
    psql(url, SEED.format(functions=functions, history=history))
    written, took = manage(env, "shell", "-c", FOLD).splitlines()[-1].split()
    print(f"the fold wrote {written} service-minutes (the fleet's last hour) in {took} s", flush=True)
    psql(url, "ANALYZE")
    token = manage(env, "create_user_token", "bench")
    session = manage(env, "shell", "-c", SESSION).splitlines()[-1]
    function_id = int(psql(url, "SELECT min(id) FROM monitoring_function"))
    servers: dict[str, subprocess.Popen] = {}
    samples: dict[str, dict[str, list[list[float]]]] = {site: {} for site in trees}
    try:
        connections = {}
        for site, tree in trees.items():
            servers[site], port = serve(tree, env)
            connections[site] = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        service_id = int(psql(url, "SELECT min(id) FROM monitoring_service"))
        paths = endpoints(function_id, service_id)
        for connection in connections.values():  # warm the database's cache and the workers
            for path in paths.values():
                timed(connection, path, session if not path.startswith("/api/") else token, 2)
        for round_ in range(rounds):
            order = list(paths.items())
            sites = list(connections)
            if round_ % 2:
                order.reverse()  # alternate, so no endpoint (or site) always runs after the same one
                sites.reverse()
            for name, path in order:
                for site in sites:
                    key = session if not path.startswith("/api/") else token
                    samples[site].setdefault(name, []).append(timed(connections[site], path, key, requests))
    finally:
        for server in servers.values():
            stop(server)
    return {
        site: {
            name: {
                "p50_ms": statistics.median(statistics.median(r) for r in rounds_) * 1000,
                "p99_ms": statistics.median(p99(r) for r in rounds_) * 1000,
                "p50_spread_ms": (
                    min(statistics.median(r) for r in rounds_) * 1000,
                    max(statistics.median(r) for r in rounds_) * 1000,
                ),
            }
            for name, rounds_ in found.items()
        }
        for site, found in samples.items()
    }


def report(results: dict[int, dict[str, dict]], title: str) -> None:
    names = list(next(iter(results.values())))
    header = "".join(f"{f'{n} fn p50':>14}{'p99':>9}{'x base':>8}{'p50 range':>16}" for n in results)
    print(f"\n{title}\n{'endpoint':<26}{header}")
    for name in names:
        cells = ""
        for figures in results.values():
            base = figures["baseline: one function"]["p50_ms"]
            row = figures[name]
            low, high = row["p50_spread_ms"]
            cells += (
                f"{row['p50_ms']:>14.1f}{row['p99_ms']:>9.1f}{row['p50_ms'] / base:>8.1f}{f'{low:.0f}-{high:.0f}':>16}"
            )
        print(f"{name:<26}{cells}")
    if len(results) > 1:
        small, large = min(results), max(results)
        print(f"\ngrowth of p50 from {small} to {large} functions ({large / small:.0f}x the fleet):")
        for name in names:
            print(f"  {name:<26}{results[large][name]['p50_ms'] / results[small][name]['p50_ms']:>6.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--history", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=20, help="requests per endpoint per round")
    parser.add_argument("--before", type=Path, help="also time the site as this folder holds it (see above)")
    args = parser.parse_args()
    trees = {"after": ROOT, "before": args.before.resolve()} if args.before else {"this tree": ROOT}

    results: dict[str, dict[int, dict[str, dict]]] = {site: {} for site in trees}
    with postgres_server(durable=True) as pg:
        for functions in args.functions:
            database = f"monitor_reads_{functions}"
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
            found = measure(pg.url(database), env, functions, args.history, args.rounds, args.requests, trees)
            for site, figures in found.items():
                results[site][functions] = figures
    for site, figures in results.items():
        report(figures, site)


if __name__ == "__main__":
    main()
