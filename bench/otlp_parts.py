"""The server's CPU per batch, JSON ingest against OTLP, measured in one process (no HTTP server,
no wrk): each request goes through the site's WSGI application as gunicorn would hand it over,
and its process CPU time is taken. Phases alternate in blocks, so load elsewhere on the machine
falls on both alike; PostgreSQL's own CPU is not in these figures (it is the same for both).

    .venv/bin/python -m bench.otlp_parts [--blocks 10] [--requests 50] [--parts] [--profile otlp|keyed|json]

Prints per phase the median CPU ms a request over the blocks and its range, and its ratio to
the JSON ingest's. --parts times the OTLP path's steps apart (decode, read the points, make
the calls, validate, write) next to the JSON path's (parse, write); --profile runs cProfile
(on CPU time) over that phase's requests and prints the costliest functions by own and by
cumulative time (PROFILE_LINES of them, 40 unless set).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.ingest import BODIES, PLACEHOLDER, make_batch, otlp_bodies
from tests.servers import postgres_server

ROOT = Path(__file__).resolve().parent.parent


def environ(path: str, body: bytes, content_type: str, token: str, key: str | None = None) -> dict:
    found = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "HTTP_HOST": "127.0.0.1:8000",
    }
    if key:
        found["HTTP_IDEMPOTENCY_KEY"] = key
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", type=int, default=10)
    parser.add_argument("--requests", type=int, default=50, help="requests per phase in a block")
    parser.add_argument("--profile", choices=["otlp", "keyed", "json"])
    parser.add_argument("--parts", action="store_true", help="time the OTLP path's steps one by one")
    args = parser.parse_args()
    with postgres_server() as pg, tempfile.TemporaryDirectory() as folder:
        subprocess.run(["psql", pg.url(), "-qc", "CREATE DATABASE monitor_parts"], check=True)
        os.environ.update(
            {
                "DATABASE_URL": pg.url("monitor_parts"),
                "MONITOR_MAX_REQUESTS_PER_MINUTE": "100000000",
                "SECRET_KEY": "bench-only-secret-key-not-for-production-use",
                "LOG_LEVEL": "WARNING",
                "DJANGO_SETTINGS_MODULE": "resilience_site.settings",
            }
        )
        os.environ.pop("REDIS_URL", None)
        run(args, Path(folder))


def run(args: argparse.Namespace, folder: Path) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    out = io.StringIO()
    call_command("create_service", "bench", stdout=out)
    token = out.getvalue().strip().splitlines()[-1]
    from resilience_site.wsgi import application

    json_bodies = [make_batch(n) for n in range(BODIES)]
    otlp_bodies(folder)
    otlp = [(folder / f"otlp{n + 1}.pb").read_bytes() for n in range(BODIES)]
    counter = itertools.count()

    def answer(status: str, headers: list) -> None:
        if not status.startswith(("200", "202")):
            raise SystemExit(f"request answered {status}")

    def json_request() -> dict:
        n = next(counter)
        body = json_bodies[n % BODIES].replace(PLACEHOLDER.encode(), uuid.uuid4().hex.encode())
        return environ("/api/v1/ingest", body, "application/json", token)

    def otlp_request() -> dict:
        return environ("/otlp/v1/metrics", otlp[next(counter) % BODIES], "application/x-protobuf", token)

    def keyed_request() -> dict:
        n = next(counter)
        return environ("/otlp/v1/metrics", otlp[n % BODIES], "application/x-protobuf", token, uuid.uuid4().hex)

    phases = {"json": json_request, "otlp": otlp_request, "keyed": keyed_request}

    def block(make: object, n: int) -> float:
        requests = [make() for _ in range(n)]
        start = time.process_time()
        for request in requests:
            b"".join(application(request, answer))
        return (time.process_time() - start) * 1000 / n

    for make in phases.values():  # warm up: functions remembered, code paths loaded
        block(make, 20)
    if args.parts:
        parts(otlp, args.requests * 4)
        return
    if args.profile:
        profiler = cProfile.Profile(time.process_time)  # CPU time: waits on PostgreSQL left out
        requests = [phases[args.profile]() for _ in range(args.requests * 4)]
        profiler.enable()
        for request in requests:
            b"".join(application(request, answer))
        profiler.disable()
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(int(os.environ.get("PROFILE_LINES", "40")))
        return
    figures: dict[str, list[float]] = {name: [] for name in phases}
    for i in range(args.blocks):
        order = list(phases)[i % 3 :] + list(phases)[: i % 3]
        for name in order:
            figures[name].append(block(phases[name], args.requests))
    base = statistics.median(figures["json"])
    print(f"{'phase':8} {'CPU ms/request median [range]':32} ratio to JSON")
    for name, values in figures.items():
        median = statistics.median(values)
        print(f"{name:8} {median:6.2f} [{min(values):.2f}-{max(values):.2f}]{'':14} {median / base:.2f}")


def parts(bodies: list[bytes], n: int) -> None:
    """The OTLP path's steps timed apart, and the JSON ingest's, in CPU ms a request."""
    from monitoring import cumulative
    from monitoring.models import Service
    from resilience_site import otlp, otlp_map

    service = Service.objects.get(name="bench")
    steps: dict[str, float] = {}

    def timed(name: str, work: object) -> object:
        start = time.process_time()
        found = work()
        steps[name] = steps.get(name, 0.0) + time.process_time() - start
        return found

    for i in range(n):
        body = bodies[i % len(bodies)]
        request = timed("protobuf decode", lambda body=body: otlp.decode(body, otlp.PROTOBUF))
        translation = timed("read points", lambda request=request: otlp_map.read_request(request, service))
        increments, _ = cumulative.increments(service, translation.readings())
        found = timed("to calls", lambda t=translation, inc=increments: otlp_map.batches(t, inc))
        batch = timed("validate", lambda found=found: otlp.validated(found[0]))
        timed("write", lambda batch=batch: otlp.write_batch(service, batch, {}, ""))
    from bench.ingest import make_batch
    from resilience_site import ingest

    json_bodies = [make_batch(n) for n in range(BODIES)]
    for i in range(n):
        body = json_bodies[i % len(json_bodies)]
        batch = timed("JSON parse", lambda body=body: ingest.parse(body))
        timed("JSON write", lambda batch=batch: ingest.write_batch(service, batch, {}, ""))
    for name, seconds in steps.items():
        print(f"{name:16} {seconds * 1000 / n:6.3f} ms")


if __name__ == "__main__":
    main()
