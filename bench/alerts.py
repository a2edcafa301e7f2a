"""Alert evaluation time, SLO and incident work, and breaker-to-incident-notice latency on PostgreSQL.

1. A round: seeds N functions (default 10,000) with five minutes of call buckets, some
   breakers and queues, 1,000 SLOs (single functions and whole services, success and
   latency objectives, 7- and 30-day windows) with 3 days of minute buckets and 27 days of
   hourly roll-ups behind them, folded as the periodic fold does; then times rounds: the
   rules' evaluation (evaluate_all), the incident work inside it (flush_due, remind_due)
   and the SLO evaluation (evaluate_slos), each part and the whole (target: under 1 s). The
   first round fires the alerts (about 200 open incidents), the second sends their first
   notices; later rounds are the steady state. Then the SLO counts read per SLO (as the
   pages do) against all at once (the round), alternated.
2. Breaker to incident notice: the site under gunicorn, a Celery worker on Redis and a local
   webhook receiver; posts batches that open a breaker and times each until the incident's
   first notice arrives (target: p95 under 2 s plus the group wait), in phases alternating
   the default group wait (MONITOR_GROUP_WAIT_S=10) and none.

    .venv/bin/python -m bench.alerts [--functions 10000] [--slos 1000] [--rounds 7] [--pairs 1] [--samples 20]

   (`--pairs 0 --alternations 0` times the rounds alone; steady rounds alternate: a round in
   the hour, then the first after the hour turns and the fold adds it, the SLO rounds' clock
   moved on to that turn (`Clock`), the rounds 5 and 6 minutes into the hour before it (where
   the next start hours' read ahead begins) timed apart; `--restarts` rounds after them keep nothing, as a process
   just started; `--profile` profiles one more round.)
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
# The last functions are in small services (teams), which SLOs cover whole.
TEAMS, PER_TEAM = 100, 10
HISTORY_DAYS = 3  # of minute buckets behind each SLO's functions (the bench's raw retention)
WINDOW_DAYS = 30


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


def seed_fleet(functions: int) -> None:
    from monitoring.models import Function, Service

    now = datetime.now(UTC)
    fleet = functions - TEAMS * PER_TEAM
    services = [Service.objects.create(name=f"svc{i:03}") for i in range((fleet + PER_SERVICE - 1) // PER_SERVICE)]
    teams = [Service.objects.create(name=f"team{i:03}") for i in range(TEAMS)]
    owners = [services[i // PER_SERVICE] for i in range(fleet)] + [
        teams[i // PER_TEAM] for i in range(TEAMS * PER_TEAM)
    ]
    Function.objects.bulk_create(
        [Function(service=owner, name=f"fn{i:05}", last_seen=now) for i, owner in enumerate(owners)], batch_size=5000
    )


def seed_recent(failing_every: int) -> None:
    """The rules' five minutes of calls for every function, breakers and queues: seeded last, so fresh."""
    from monitoring import histogram
    from monitoring.health import window_start
    from monitoring.models import Breaker, CallBucket, Function, Service
    from queues.models import Queue, Snapshot

    now = datetime.now(UTC)
    services = [Service.objects.get(name="svc000")]
    ids = list(Function.objects.order_by("id").values_list("id", flat=True))
    start = window_start(5, now)
    buckets = []
    for n, function_id in enumerate(ids):
        failing = n % failing_every == 0  # over the error-rate threshold
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


# 3 days of minute buckets (shard 1: the rules' five minutes are shard 0) for the SLOs'
# functions: about 45 calls a minute, a failure now and then; one function in 25 failing 4
# calls a minute and one in 30 slow over the last two hours (their SLOs burn fast).
MINUTES_SQL = """
INSERT INTO monitoring_callbucket (function_id, minute, shard, success, failure, timeout, rejected, retries,
                                   latency_sum_ms, latency_max_ms, histogram)
SELECT f, m, 1, 40 + (f + e) %% 7, bad, 0, 0, 0, (40 + (f + e) %% 7 + bad) * 90.0, 1800.0,
       jsonb_build_object(%(fast)s, 37 + (f + e) %% 7 + bad - slow, %(mid)s, 3, %(slow)s, slow)
FROM generate_series(%(start)s::timestamptz, %(end)s::timestamptz, interval '1 minute') AS m,
     unnest(%(ids)s::bigint[]) AS f,
     LATERAL (SELECT (extract(epoch FROM m) / 60)::bigint AS e) AS epoch,
     LATERAL (SELECT CASE WHEN f %% 25 = 0 AND m > %(recent)s THEN 4 WHEN (f + e) %% 53 = 0 THEN 1 ELSE 0 END AS bad,
                     CASE WHEN f %% 30 = 1 AND m > %(recent)s THEN 6 WHEN (f + e) %% 37 = 0 THEN 1 ELSE 0 END AS slow)
          AS shape
ORDER BY m, f
"""
# The hours before them, past the minute buckets' retention, as retention rolls them up.
HOURS_SQL = """
INSERT INTO monitoring_callhour (function_id, hour, success, failure, timeout, rejected, retries,
                                 latency_sum_ms, latency_max_ms, histogram)
SELECT f, h, 2700, 3, 0, 0, 0, 2703 * 90.0, 1800.0, jsonb_build_object(%(fast)s, 2520, %(mid)s, 180, %(slow)s, 3)
FROM unnest(%(ids)s::bigint[]) AS f,
     generate_series(%(start)s::timestamptz, %(end)s::timestamptz, interval '1 hour') AS h
"""


def slo_plan(slos: int) -> list[dict]:
    """Three in ten SLOs cover a team (a small service) whole, the rest one function; success
    and latency objectives, 7- and 30-day windows, the default burn-rate alerts."""
    from alerts.models import SLO

    alerts = SLO._meta.get_field("burn_alerts").default()
    on_teams = min(slos * 3 // 10, TEAMS * 3)
    plans = []
    for k in range(on_teams):
        team, kind = k % TEAMS, k // TEAMS
        plans.append(
            {"service": f"team{team:03}", "function": None, "objective": ("success", "latency", "success")[kind % 3]}
            | {"target": (99.9, 99, 99)[kind % 3], "latency_ms": (None, 500.0, None)[kind % 3]}
            | {"window_days": (30, 30, 7)[kind % 3]}
        )
    for k in range(slos - on_teams):
        n = 12 * k + 3  # functions of the big services
        plans.append(
            {"service": f"svc{n // PER_SERVICE:03}", "function": f"fn{n:05}"}
            | {"objective": ("success", "latency", "success", "latency")[k % 4]}
            | {"target": (99.9, 99, 99.5, 95)[k % 4], "latency_ms": (None, 800.0, None, 300.0)[k % 4]}
            | {"window_days": (30, 30, 7, 7)[k % 4]}
        )
    return [
        plan | {"name": f"slo{i:04}", "burn_alerts": alerts, "channels": [], "enabled": True}
        for i, plan in enumerate(plans)
    ]


class Clock:
    """The SLO rounds' clock: behind the real one by `lag` (the rules' round runs on the real
    clock over the last five minutes, which the SLO functions' seeded minutes never reach), so
    that it can move on to the next hour's turn (`jump`) with the minutes up to it seeded and
    folded as the fold would, and the round after it is the one after the fold adds an hour."""

    def __init__(self, lag: timedelta) -> None:
        self.lag = lag
        self.ids: list[int] = []
        self.recent = self.seeded = self.now()

    def now(self) -> datetime:
        return datetime.now(UTC) - self.lag

    def set(self, moment: datetime) -> datetime:
        self.lag = datetime.now(UTC) - moment
        return moment

    def catch_up(self) -> dict:
        """The SLO functions' minutes seeded up to the clock (as ingest writes them), then folded
        (the fold's periodic job): neither in a round's time."""
        from monitoring import rollups

        now = self.now()
        end = now.replace(second=0, microsecond=0) - timedelta(minutes=1)  # a minute a reporter may still write
        if end > self.seeded:
            seed_minutes(self.ids, self.seeded + timedelta(minutes=1), end, self.recent)
            self.seeded = end
        rollups.fold(now)
        return {"now": now}


def seed_minutes(ids: list[int], start: datetime, end: datetime, recent: datetime) -> None:
    """The SLO functions' minute buckets [start, end], an hour a statement in time order."""
    from django.db import connection

    from monitoring import histogram

    keys = {name: str(histogram.bucket_of(ms)) for name, ms in (("fast", 60.0), ("mid", 250.0), ("slow", 1500.0))}
    with connection.cursor() as cursor:
        while start <= end:
            last = min(end, start + timedelta(minutes=59))
            cursor.execute(MINUTES_SQL, keys | {"ids": ids, "start": start, "end": last, "recent": recent})
            start = last + timedelta(minutes=1)


def seed_slos(slos: int, clock: Clock) -> dict:
    from django.db import connection

    from alerts import slo_changes
    from monitoring import histogram, rollups
    from monitoring.models import Function

    plans = slo_plan(slos)
    for data in plans:
        slo_changes.create(None, data)
    names = {p["function"] for p in plans if p["function"]}
    teams = {p["service"] for p in plans if not p["function"]}
    ids = list(Function.objects.filter(name__in=names).values_list("id", flat=True))
    ids += list(Function.objects.filter(service__name__in=teams).values_list("id", flat=True))
    now = clock.now().replace(second=0, microsecond=0)
    clock.ids, clock.recent, clock.seeded = ids, now - timedelta(hours=2), now
    keys = {name: str(histogram.bucket_of(ms)) for name, ms in (("fast", 60.0), ("mid", 250.0), ("slow", 1500.0))}
    first_minute = now - timedelta(days=HISTORY_DAYS) + timedelta(hours=1)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # An hour at a time, in time order, as ingest writes them (a range of minutes is a
        # range of pages, as in a real table).
        for hour in range(HISTORY_DAYS * 24):
            start = first_minute + timedelta(hours=hour)
            end = min(now, start + timedelta(minutes=59))
            cursor.execute(
                MINUTES_SQL, keys | {"ids": ids, "start": start, "end": end, "recent": now - timedelta(hours=2)}
            )
        hour = first_minute.replace(minute=0)
        cursor.execute(
            HOURS_SQL,
            keys | {"ids": ids, "start": now - timedelta(days=WINDOW_DAYS), "end": hour - timedelta(hours=1)},
        )
    seeded = time.perf_counter() - started
    started = time.perf_counter()
    rollups.fold(clock.now())
    return {"functions": len(ids), "seed_s": seeded, "fold_s": time.perf_counter() - started}


class Timed:
    """Wraps a module's function to add up the time spent in it (the incident work inside evaluate_all)."""

    def __init__(self, module: object, name: str) -> None:
        self.module, self.name, self.inner = module, name, getattr(module, name)
        self.spent = 0.0
        setattr(module, name, self)

    def __call__(self, *args: object, **kwargs: object) -> object:
        started = time.perf_counter()
        try:
            return self.inner(*args, **kwargs)
        finally:
            self.spent += time.perf_counter() - started

    def take(self) -> float:
        spent, self.spent = self.spent, 0.0
        return spent


def spread(values: list[float]) -> str:
    if not values:
        return "-"
    return f"median {statistics.median(values):.3f} s (min {min(values):.3f}, max {max(values):.3f}, n={len(values)})"


def remind_some(count: int) -> None:
    """As in a steady hour: a few open incidents' reminders fall due in each round."""
    from django.utils import timezone

    from alerts.models import Incident, IncidentState

    due = Incident.objects.filter(state=IncidentState.OPEN).order_by("next_reminder_at").values_list("id", flat=True)
    Incident.objects.filter(id__in=list(due[:count])).update(next_reminder_at=timezone.now() - timedelta(seconds=1))


def forget_kept() -> None:
    """What the SLO round keeps between rounds, gone: as in a process just started."""
    from alerts import slo_minutes, slo_sums

    slo_sums.KEPT.clear()
    for kept in ("KEPT", "AHEAD", "SETTLED"):
        getattr(slo_minutes, kept, []).clear()


def bench_rounds(rounds: int, reminders: int, restarts: int, clock: Clock) -> dict:
    from alerts import incidents, slo_sums
    from alerts.evaluate import evaluate_all
    from alerts.models import OPEN_INCIDENT_STATES, SLO, Alert, Incident, Rule
    from alerts.slo_evaluate import evaluate_slos
    from monitoring.ranges import HOUR, floor

    flush, remind = Timed(incidents, "flush_due"), Timed(incidents, "remind_due")
    reads = Timed(slo_sums, "read_all")
    parts: dict[str, list[float]] = {"rules": [], "incidents": [], "slos": [], "slo_reads": [], "whole": []}
    cold: dict[str, list[float]] = {name: [] for name in parts}
    restart: dict[str, list[float]] = {name: [] for name in parts}
    ahead: list[float] = []
    in_hour_first: list[float] = []  # the round 5 minutes into the hour (the read ahead starts)
    in_hour_slice: list[float] = []  # the round after it (a slice of the minutes)
    first: dict[str, float] = {}
    for i in range(rounds + restarts):
        if i == 1:
            time.sleep(incidents.group_wait().total_seconds())  # the first notices fall due
        if i >= 2:
            remind_some(reminders)
        # Steady rounds alternate: one in the hour, then (cold) the first after the hour turns
        # and the fold adds it: the SLO clock moved on to the turn; the rounds of the hour before
        # it (which read the next start hours ahead, done ten minutes before the turn) are one
        # round here, a minute before the turn, timed apart. Then, after the steady rounds,
        # rounds of a process just started (nothing kept).
        kind = "first" if i < 2 else "restart" if i >= rounds else "cold" if i % 2 == 1 else "warm"
        if kind == "cold":
            turn = floor(clock.now(), HOUR) + HOUR
            # The read ahead's first rounds, as a running process has them: at 5 minutes into
            # the hour the next start hours' rows, then a slice of their minutes a round.
            for minutes, into in ((55, in_hour_first), (54, in_hour_slice)):
                if clock.now() >= turn - timedelta(minutes=minutes):
                    continue  # the clock is past that point of the hour (the first cold round)
                clock.set(turn - timedelta(minutes=minutes))
                clock.catch_up()
                started = time.perf_counter()
                evaluate_slos(clock.now())
                into.append(time.perf_counter() - started)
            clock.set(turn - timedelta(minutes=1))
            clock.catch_up()
            started = time.perf_counter()
            evaluate_slos(clock.now())
            ahead.append(time.perf_counter() - started)
            clock.set(turn + timedelta(minutes=2, seconds=30))
        if kind == "restart":
            forget_kept()
        clock.catch_up()  # the fold: its own periodic job, every minute, not in the round's time
        reads.take()
        started = time.perf_counter()
        outcome = evaluate_all()
        rules_s = time.perf_counter() - started
        now = clock.now()
        started = time.perf_counter()
        slo_outcome = evaluate_slos(now)
        slos_s = time.perf_counter() - started
        work = flush.take() + remind.take()
        figures = {"rules": rules_s - work, "incidents": work, "slos": slos_s, "whole": rules_s + slos_s}
        figures["slo_reads"] = reads.take()
        print(
            f"  round {i + 1} ({kind}, SLO clock {now:%H:%M:%S}): whole {figures['whole']:.3f} s = "
            f"rules {figures['rules']:.3f} + incidents {work:.3f} + SLOs {slos_s:.3f} "
            f"(their reads {figures['slo_reads']:.3f})  rules {outcome}  SLOs {slo_outcome}"
            + (
                f"  [SLOs at 5 and 6 minutes into the hour before: {in_hour_first[-1:]} {in_hour_slice[-1:]} s;"
                f" the rest of that hour's rounds as one {ahead[-1]:.3f} s]"
                if kind == "cold"
                else ""
            ),
            flush=True,
        )
        if kind == "first":
            first |= {f"{name}_{i + 1}": value for name, value in figures.items()}
        for name, value in figures.items():
            {"warm": parts, "cold": cold, "restart": restart}.get(kind, {}).setdefault(name, []).append(value)
    return {
        "rules": Rule.objects.configured().filter(enabled=True).count(),
        "slos": SLO.objects.filter(enabled=True).count(),
        "alerts": Alert.objects.filter(state__in=("firing", "acknowledged")).count(),
        "incidents": Incident.objects.filter(state__in=OPEN_INCIDENT_STATES).count(),
        "first": first,
        "parts": parts,
        "cold": cold,
        "restart": restart,
        "ahead": ahead,
        "in_hour_first": in_hour_first,
        "in_hour_slice": in_hour_slice,
    }


def profile_round(clock: Clock) -> None:
    """One more rules round and SLO round under the profiler, and an SLO round after the hour
    turns: the slowest statements and the functions taking the most time (cumulative), to see
    where a round goes."""
    import cProfile
    import pstats

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from alerts.evaluate import evaluate_all
    from alerts.slo_evaluate import evaluate_slos
    from monitoring.ranges import HOUR, floor

    def after_the_turn() -> None:
        """The clock moved past the next hour's turn (the hour before read ahead, not profiled)."""
        turn = floor(clock.now(), HOUR) + HOUR
        clock.set(turn - timedelta(minutes=1))
        clock.catch_up()
        evaluate_slos(clock.now())
        clock.set(turn + timedelta(minutes=2, seconds=30))

    clock.catch_up()
    steps = (("rules", None, evaluate_all), ("SLOs", None, lambda: evaluate_slos(clock.now())))
    for name, before, run in (*steps, ("SLOs after the hour turns (cold)", after_the_turn, steps[1][2])):
        if before:
            before()
            clock.catch_up()
        profile = cProfile.Profile()
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            profile.runcall(run)
            spent = time.perf_counter() - started
        print(f"profiled {name} round: {spent:.3f} s (profiler on), {len(queries)} statements; slowest:")
        for query in sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:8]:
            print(f"  {query['time']} s  {query['sql'][:160]}")
        pstats.Stats(profile).sort_stats("cumulative").print_stats(30)


def bench_counts(pairs: int, clock: Clock) -> dict:
    """The same counts per SLO (one statement per SLO and table, as the pages read) and all at once."""
    from alerts import slo_read, slo_sums

    slos = list(slo_read.listed().filter(enabled=True))
    wanted = {slo: slo_read.spans(slo, budget=False) for slo in slos}
    each, together = [], []
    for i in range(pairs):
        now = clock.now()
        started = time.perf_counter()
        alone = {slo.id: slo_read.slo_counts.window_counts(slo, spans, now) for slo, spans in wanted.items()}
        each.append(time.perf_counter() - started)
        started = time.perf_counter()
        at_once = slo_sums.round_counts(wanted, now)
        together.append(time.perf_counter() - started)
        if at_once != alone:
            raise RuntimeError("the counts read at once differ from those read per SLO")
        print(f"  pair {i + 1}: per SLO {each[-1]:.3f} s, at once {together[-1]:.3f} s (same counts)", flush=True)
    return {"each": each, "together": together}


class Receiver:
    """Records when each incident notice arrives, by the subject it names, and how many came."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.notices: dict[str, list[str]] = {}
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                at = time.time()
                message = orjson.loads(body)
                subject = message["alert"].get("subject", "")
                with receiver.changed:
                    receiver.arrived.setdefault(subject, at)
                    receiver.notices.setdefault(subject, []).append(message["event"])
                    receiver.changed.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, subject: str, timeout: float = 60.0) -> float:
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


def start_site(env: dict, port: int) -> tuple[subprocess.Popen, subprocess.Popen]:
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
    return server, worker


def warm_up(port: int, receiver: Receiver, token: str, tag: str) -> None:
    """Unmeasured: each new process's first requests and tasks import and connect (seconds here)."""
    functions = [f"warm-{tag}-{i}" for i in range(4)]
    for function in functions:
        ts = datetime.now(UTC).isoformat()
        post(port, token, {"instance": "pod-1", "breakers": [{"function": function, "state": "open", "ts": ts}]})
    for function in functions:
        receiver.wait_for(function)


def breaker_phase(env: dict, receiver: Receiver, token: str, samples: int, tag: str) -> list[float]:
    """Samples posted half a second apart (each waits out the group wait on its own), each a
    breaker opening on a new function; the latency is post -> the incident's first notice."""
    port = free_port()
    server, worker = start_site(env, port)
    posted: dict[str, float] = {}
    try:
        wait_for_port(port, server, timeout=30)
        time.sleep(3)  # the worker connects to Redis
        warm_up(port, receiver, token, tag)
        for i in range(samples):
            function = f"flaky-{tag}-{i:03}"
            ts = datetime.now(UTC).isoformat()
            posted[function] = time.time()
            status = post(
                port, token, {"instance": "pod-1", "breakers": [{"function": function, "state": "open", "ts": ts}]}
            )
            if status != 202:
                raise RuntimeError(f"ingest answered {status}")
            time.sleep(0.5)
        latencies = [receiver.wait_for(function) - at for function, at in posted.items()]
        print("    " + " ".join(f"{latency * 1000:.0f}" for latency in latencies) + " ms", flush=True)
        time.sleep(1)  # a second notice for the same incident would arrive by now
    finally:
        stop(worker)
        stop(server)
    for function in posted:
        if receiver.notices[function] != ["firing"]:
            raise RuntimeError(f"{function}: notices {receiver.notices[function]}, expected one firing notice")
    return latencies


def percentiles(latencies: list[float], wait: float) -> dict:
    latencies = sorted(latencies)
    p95 = latencies[max(0, int(len(latencies) * 0.95 + 0.5) - 1)]
    return {
        "samples": len(latencies),
        "wait": wait,
        "p50_s": statistics.median(latencies),
        "p95_s": p95,
        "max_s": latencies[-1],
        "min_s": latencies[0],
    }


def bench_breaker_latency(env: dict, samples: int, alternations: int, wait: float) -> list[dict]:
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
    found: dict[float, list[float]] = {wait: [], 0.0: []}
    try:
        for round_ in range(alternations):
            for group_wait in (wait, 0.0):
                print(f"  phase {round_ + 1}, group wait {group_wait:g} s ...", flush=True)
                phase_env = {**env, "MONITOR_GROUP_WAIT_S": str(group_wait)}
                found[group_wait] += breaker_phase(phase_env, receiver, token, samples, f"{round_}w{group_wait:g}")
    finally:
        receiver.server.shutdown()
    return [percentiles(latencies, group_wait) for group_wait, latencies in found.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", type=int, default=10_000)
    parser.add_argument("--slos", type=int, default=1000)
    parser.add_argument("--failing-every", type=int, default=70, help="one function in N over the error rate")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--reminders", type=int, default=4, help="incident reminders due in each steady round")
    parser.add_argument("--pairs", type=int, default=1, help="SLO counts per SLO against at once (minutes each)")
    parser.add_argument("--samples", type=int, default=20, help="breaker samples per phase")
    parser.add_argument("--alternations", type=int, default=2)
    parser.add_argument("--group-wait", type=float, default=10.0)
    parser.add_argument("--restarts", type=int, default=2, help="rounds after the steady ones, nothing kept")
    parser.add_argument("--profile", action="store_true", help="profile one more round of each after the rounds")
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
            "MONITOR_MAX_FUNCTIONS_PER_SERVICE": str(max(args.samples * args.alternations * 2, PER_SERVICE)),
            "MONITOR_RAW_RETENTION_DAYS": str(HISTORY_DAYS),
            "MONITOR_GROUP_WAIT_S": str(args.group_wait),
        }
        print("migrating a fresh PostgreSQL database ...", flush=True)
        manage(env, "migrate", "--noinput", "-v0")
        # This process evaluates in-process (no REDIS_URL); the site and the worker use Redis.
        setup_django(env)
        seed_fleet(args.functions)
        print(f"seeding {args.slos} SLOs, {HISTORY_DAYS} days of minute buckets and the hours before ...", flush=True)
        # Behind the real clock by more than the hours the cold rounds move it on.
        clock = Clock(timedelta(hours=(args.rounds - 1) // 2, minutes=20))
        seeded = seed_slos(args.slos, clock)
        print(f"  {seeded}", flush=True)
        print(f"seeding {args.functions} functions with five minutes of calls ...", flush=True)
        seed_recent(args.failing_every)
        rounds = bench_rounds(args.rounds, args.reminders, args.restarts, clock)
        if args.profile:
            profile_round(clock)
        counts = bench_counts(args.pairs, clock)
        latency = []
        if args.alternations:
            latency = bench_breaker_latency(
                {**env, "REDIS_URL": redis_url}, args.samples, args.alternations, args.group_wait
            )

    print()
    print(
        f"a round over {args.functions} functions x {rounds['rules']} default rules, {rounds['slos']} SLOs "
        f"({seeded['functions']} functions with {HISTORY_DAYS} days of minute buckets), "
        f"{rounds['incidents']} open incidents ({rounds['alerts']} open alerts):"
    )
    first = rounds["first"]
    print(
        f"  first round (fires) {first['whole_1']:.3f} s (rules {first['rules_1']:.3f}, SLOs {first['slos_1']:.3f}); "
        f"second (first notices) {first['whole_2']:.3f} s (incident work {first['incidents_2']:.3f})"
    )
    for name, values in rounds["parts"].items():
        print(f"  steady {name:9} {spread(values)}" + ("  (target < 1 s)" if name == "whole" else ""))
    print("  the first steady round after the hour turns and the fold adds it (cold), alternated:")
    for name, values in rounds["cold"].items():
        print(f"  cold   {name:9} {spread(values)}")
    print(f"  SLOs of the round 5 minutes into the hour (the read ahead starts): {spread(rounds['in_hour_first'])}")
    print(f"  SLOs of the round 6 minutes into the hour (a slice of it): {spread(rounds['in_hour_slice'])}")
    print(f"  the rest of the hour's rounds before the turn, as one round: SLOs {spread(rounds['ahead'])}")
    print("  rounds of a process just started (nothing kept):")
    for name, values in rounds["restart"].items():
        print(f"  restart {name:9} {spread(values)}")
    print(f"SLO counts for the round, {args.pairs} alternated pairs:")
    print(f"  per SLO  {spread(counts['each'])}")
    print(f"  at once  {spread(counts['together'])}")
    if latency:
        print("breaker open batch -> incident notice received:")
    for found in latency:
        less = {name: (found[name] - found["wait"]) * 1000 for name in ("p50_s", "p95_s")}
        print(
            f"  group wait {found['wait']:g} s, {found['samples']} samples: p50 {found['p50_s'] * 1000:.0f} ms, "
            f"p95 {found['p95_s'] * 1000:.0f} ms, max {found['max_s'] * 1000:.0f} ms; less the group wait: "
            f"p50 {less['p50_s']:.0f} ms, p95 {less['p95_s']:.0f} ms"
            f"  (target p95 < {found['wait'] * 1000 + 2000:.0f} ms)"
        )


if __name__ == "__main__":
    main()
