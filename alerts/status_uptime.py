"""A status page's uptime bars: each component's uptime per UTC day over the last 90 days.

A day's uptime is the availability of monitoring/trends.py (the same function, not a copy)
read at an hourly step: the share of the day's hours with calls whose error rate stayed
under MONITOR_HEALTH_DEGRADED_ERROR_RATE. A day without calls has no uptime (a grey bar).

Bounded: ONE grouped query per page view, whatever the number of components and days. It
reads the hourly roll-ups (CallHour, past the minute buckets' retention) and the minute
buckets folded into the same hourly slots, sums them per function and hour, then per
component and hour: at most components x 2,160 rows come back.

Days before yesterday are final (ingest takes calls at most 24 hours late, and rolling
minutes up into hours keeps each hour's sums), so their figures are kept in the cache for
the day: a page view then reads only yesterday's and today's minute buckets (measured in
docs/status-page.md: the 90 days of a 100-function service's minute buckets take seconds).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, timedelta

from django.core.cache import cache
from django.db import connection

from monitoring import outages
from monitoring.models import CallBucket, CallHour, Function
from monitoring.outages import CACHE_ERRORS
from monitoring.ranges import DAY, EPOCH, floor
from monitoring.trends import availability
from monitoring.writers import writer

from .models import StatusComponent, StatusPage

log = logging.getLogger(__name__)
DAYS = 90
HOUR_S = 3600
KEPT_S = 24 * 3600
# Each function's calls summed per hour first (a few rows per function and hour: minute
# buckets, their shards, a roll-up), so the two halves of the UNION ALL read that short list:
# service components summed over the service's functions, function components alone (a
# function that is both is counted in both).
UPTIME = """
WITH c AS (
    SELECT function_id, slot, SUM(success) AS success, SUM(failure) AS failure,
           SUM(timeout) AS timeout, SUM(rejected) AS rejected
    FROM (
        SELECT function_id, {minute_slot} AS slot, success, failure, timeout, rejected
        FROM {buckets} WHERE minute >= %s AND function_id IN ({chosen})
        UNION ALL
        SELECT function_id, {hour_slot} AS slot, success, failure, timeout, rejected
        FROM {hours} WHERE hour >= %s AND function_id IN ({chosen})
    ) AS stored
    GROUP BY function_id, slot
)
SELECT 's', f.service_id, c.slot, SUM(c.success), SUM(c.failure), SUM(c.timeout), SUM(c.rejected)
FROM c JOIN {functions} f ON f.id = c.function_id WHERE f.service_id IN ({services})
GROUP BY f.service_id, c.slot
UNION ALL
SELECT 'f', c.function_id, c.slot, c.success, c.failure, c.timeout, c.rejected
FROM c WHERE c.function_id IN ({function_ids})
"""
# A day's figures: (its uptime or None, how many of its hours had calls).
DayFigures = tuple[float | None, int]


def key(component: StatusComponent) -> tuple[str, int]:
    return ("f", component.function_id) if component.function_id else ("s", component.service_id)


def first_day(now: datetime) -> datetime:
    return floor(now, DAY) - (DAYS - 1) * DAY


def placeholders(values: list[int]) -> tuple[str, list[int]]:
    # IN (NULL) matches nothing: a page with no service (or no function) component.
    return (", ".join(["%s"] * len(values)), values) if values else ("NULL", [])


def hourly_counts(components: list[StatusComponent], start: datetime) -> dict[tuple[str, int], dict]:
    """{component key: {hour: CallBucket}} from start on, hours without calls left out."""
    services, service_ids = placeholders(sorted({c.service_id for c in components if not c.function_id}))
    function_ids, only = placeholders(sorted({c.function_id for c in components if c.function_id}))
    chosen = f"SELECT id FROM {Function._meta.db_table} WHERE service_id IN ({services}) OR id IN ({function_ids})"
    engine = writer()
    sql = UPTIME.format(
        minute_slot=engine.slot("minute", HOUR_S),
        hour_slot=engine.slot("hour", HOUR_S),
        buckets=CallBucket._meta.db_table,
        hours=CallHour._meta.db_table,
        functions=Function._meta.db_table,
        chosen=chosen,
        services=services,
        function_ids=function_ids,
    )
    since = connection.ops.adapt_datetimefield_value(start)
    chosen_params = [*service_ids, *only]
    found: dict[tuple[str, int], dict] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(sql, [since, *chosen_params, since, *chosen_params, *service_ids, *only])
        for kind, owner, slot, success, failure, timeout, rejected in cursor.fetchall():
            hour = EPOCH + timedelta(seconds=int(slot))
            found[(kind, owner)][hour] = CallBucket(
                success=success, failure=failure, timeout=timeout, rejected=rejected
            )
    return found


def day_figures(hours: dict[datetime, CallBucket]) -> dict[date, DayFigures]:
    by_day: dict[date, dict] = defaultdict(dict)
    for hour, bucket in hours.items():
        by_day[hour.date()][hour] = bucket
    return {day: (availability(steps), sum(1 for b in steps.values() if b.calls)) for day, steps in by_day.items()}


def cache_key(page: StatusPage, now: datetime) -> str:
    # Any change to the page or its components moves `updated`; a new day moves the date.
    return f"status-uptime:{page.id}:{page.updated.timestamp()}:{floor(now, DAY).date()}"


def cached(name: str) -> dict | None:
    try:
        return cache.get(name)
    except CACHE_ERRORS as error:
        outages.warn(log, "status uptime", f"status pages read their 90 days each time: the cache is down ({error})")
        return None


def keep(name: str, value: dict) -> None:
    try:
        cache.set(name, value, timeout=KEPT_S)
    except CACHE_ERRORS as error:
        outages.warn(log, "status uptime", f"status pages read their 90 days each time: the cache is down ({error})")


def figures(page: StatusPage, components: list[StatusComponent], now: datetime) -> dict[int, dict[date, DayFigures]]:
    """{component id: {day: figures}} over the 90 days: the final days from the cache when
    there, the rest from the one grouped query."""
    live_from = floor(now, DAY) - DAY
    name = cache_key(page, now)
    final = cached(name)
    counts = hourly_counts(components, first_day(now) if final is None else live_from)
    found = {c.id: day_figures(counts.get(key(c), {})) for c in components}
    if final is None:
        final = {cid: {d: f for d, f in days.items() if d < live_from.date()} for cid, days in found.items()}
        keep(name, final)
    return {
        cid: final.get(cid, {}) | {d: f for d, f in days.items() if d >= live_from.date()}
        for cid, days in found.items()
    }


def days(page: StatusPage, components: list[StatusComponent], now: datetime) -> dict[int, dict]:
    """{component id: {"days": [{"date", "uptime"}] oldest first, "uptime": over the 90 days}}."""
    if not components:
        return {}
    start = first_day(now)
    dates = [(start + i * DAY).date() for i in range(DAYS)]
    out = {}
    for cid, found in figures(page, components, now).items():
        shown = [found.get(day, (None, 0)) for day in dates]
        counted = sum(hours for _, hours in shown)
        # The share of all the 90 days' hours with calls that were under the limit: each
        # day's share times its hours with calls, added up (exact: whole hours).
        good = sum(round(uptime * hours) for uptime, hours in shown if uptime is not None)
        out[cid] = {
            "days": [{"date": day, "uptime": uptime} for day, (uptime, _) in zip(dates, shown, strict=True)],
            "uptime": good / counted if counted else None,
        }
    return out
