"""What a public status page costs to build on PostgreSQL, as its components' history grows.

Starts a throwaway PostgreSQL, seeds one service of N functions with 14 days of minute
buckets (one row per function per minute) and 76 days of hourly roll-ups before that, and
a status page showing the whole service and one of its functions. Then times, alternated
over --rounds rounds, in process: the 90 days of uptime bars read cold (the cache emptied:
the one grouped query over all 90 days) and warm (the final days from the cache: the query
reads yesterday and today), and the whole public view warm (status now, bars, incidents),
and prints each one's median and spread (min..max).

    .venv/bin/python -m bench.status_page [--functions 10 100] [--rounds 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from functools import partial

from tests.servers import postgres_server

SEED = """
INSERT INTO monitoring_service (name, created, project_id)
VALUES ('svc', now(), (SELECT id FROM monitoring_project WHERE slug = 'default'));
INSERT INTO monitoring_function (service_id, name, created, alerting)
SELECT (SELECT id FROM monitoring_service), 'fn' || f, now(), false FROM generate_series(1, {functions}) AS f;
INSERT INTO monitoring_callbucket (function_id, minute, shard, success, failure, timeout, rejected, retries,
                                   latency_sum_ms, latency_max_ms, histogram)
SELECT f.id, m, 0, 20, CASE WHEN (f.id + extract(hour from m)::int) % 29 = 0 THEN 5 ELSE 0 END, 0, 0, 0,
       2000.0, 300.0, '{{}}'::jsonb
FROM monitoring_function f,
     generate_series(date_trunc('hour', now()) - interval '14 days', date_trunc('minute', now()),
                     interval '1 minute') AS m;
INSERT INTO monitoring_callhour (function_id, hour, success, failure, timeout, rejected, retries,
                                 latency_sum_ms, latency_max_ms, histogram)
SELECT f.id, h, 1200, CASE WHEN (f.id + extract(day from h)::int) % 13 = 0 THEN 90 ELSE 0 END, 0, 0, 0,
       120000.0, 300.0, '{{}}'::jsonb
FROM monitoring_function f,
     generate_series(date_trunc('hour', now()) - interval '90 days',
                     date_trunc('hour', now()) - interval '14 days 1 hour',
                     interval '1 hour') AS h;
ANALYZE;
"""


def elapsed_ms(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--functions", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with postgres_server() as pg:
        os.environ["DATABASE_URL"] = pg.url()
        os.environ.setdefault("SECRET_KEY", "bench-only")
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "resilience_site.settings")
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection
        from django.utils import timezone

        from alerts import status_read, status_uptime
        from alerts.models import StatusComponent, StatusPage
        from monitoring.models import Function, Service

        call_command("migrate", "--noinput", "-v0")
        from django.core.cache import cache

        print(
            f"{'functions':>9}  {'minute rows':>11}  {'bars cold, ms':>20}  {'bars warm':>16}  {'whole view warm':>16}"
        )
        for count in args.functions:
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE monitoring_service, alerts_statuspage CASCADE")
                cursor.execute(SEED.format(functions=count))
                cursor.execute("SELECT count(*) FROM monitoring_callbucket")
                minute_rows = cursor.fetchone()[0]
            page = StatusPage.objects.create(slug="bench", title="Bench")
            service = Service.objects.get()
            StatusComponent.objects.create(page=page, service=service, public_name="All")
            one = Function.objects.first()
            StatusComponent.objects.create(page=page, service=service, function=one, public_name="One")
            components = list(page.components.select_related("service"))
            cold, warm, views = [], [], []
            for _ in range(args.rounds):
                cache.clear()
                bars = partial(status_uptime.days, page, components)
                cold.append(elapsed_ms(lambda bars=bars: bars(timezone.now())))
                warm.append(elapsed_ms(lambda bars=bars: bars(timezone.now())))
                views.append(elapsed_ms(partial(status_read.public_view, page)))

            def shown(values: list[float]) -> str:
                return f"{statistics.median(values):.0f} ({min(values):.0f}..{max(values):.0f})"

            print(f"{count:>9}  {minute_rows:>11}  {shown(cold):>20}  {shown(warm):>16}  {shown(views):>16}")


if __name__ == "__main__":
    main()
