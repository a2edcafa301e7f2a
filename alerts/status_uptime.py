"""A status page's uptime bars: each component's uptime per UTC day over the last 90 days.

A day's uptime is the availability of monitoring/trends.py (the same function, not a copy)
read at an hourly step: the share of the day's hours with calls whose error rate stayed
under MONITOR_HEALTH_DEGRADED_ERROR_RATE. A day without calls has no uptime (a grey bar).

Bounded: ONE grouped query per page, whatever the number of components and days. It reads
the hourly roll-ups (CallHour, past the minute buckets' retention) and the minute buckets
(the recent days, today included) folded into the same hourly slots, and groups them by
component and hour: at most components x 2,160 rows come back.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from django.db import connection

from monitoring.models import CallBucket, CallHour, Function
from monitoring.ranges import DAY, EPOCH, floor
from monitoring.trends import availability
from monitoring.writers import writer

from .models import StatusComponent

DAYS = 90
HOUR_S = 3600
COUNTED = "SUM(c.success), SUM(c.failure), SUM(c.timeout), SUM(c.rejected)"
# Service components are summed over the service's functions, function components alone; a
# function that is both is counted in both (the two halves of the UNION ALL).
UPTIME = """
WITH c AS (
    SELECT function_id, {minute_slot} AS slot, success, failure, timeout, rejected
    FROM {buckets} WHERE minute >= %s AND function_id IN ({chosen})
    UNION ALL
    SELECT function_id, {hour_slot} AS slot, success, failure, timeout, rejected
    FROM {hours} WHERE hour >= %s AND function_id IN ({chosen})
)
SELECT 's', f.service_id, c.slot, {counted}
FROM c JOIN {functions} f ON f.id = c.function_id WHERE f.service_id IN ({services})
GROUP BY f.service_id, c.slot
UNION ALL
SELECT 'f', c.function_id, c.slot, {counted} FROM c WHERE c.function_id IN ({function_ids})
GROUP BY c.function_id, c.slot
"""


def key(component: StatusComponent) -> tuple[str, int]:
    return ("f", component.function_id) if component.function_id else ("s", component.service_id)


def first_day(now: datetime) -> datetime:
    return floor(now, DAY) - (DAYS - 1) * DAY


def placeholders(values: list[int]) -> tuple[str, list[int]]:
    # IN (NULL) matches nothing: a page with no service (or no function) component.
    return (", ".join(["%s"] * len(values)), values) if values else ("NULL", [])


def hourly_counts(components: list[StatusComponent], now: datetime) -> dict[tuple[str, int], dict]:
    """{component key: {hour: CallBucket}} over the 90 days, hours without calls left out."""
    services, functions = placeholders(sorted({c.service_id for c in components if not c.function_id}))
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
        counted=COUNTED,
    )
    start = connection.ops.adapt_datetimefield_value(first_day(now))
    chosen_params = [*functions, *only]
    params = [start, *chosen_params, start, *chosen_params, *functions, *only]
    found: dict[tuple[str, int], dict] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for kind, owner, slot, success, failure, timeout, rejected in cursor.fetchall():
            hour = EPOCH + timedelta(seconds=int(slot))
            found[(kind, owner)][hour] = CallBucket(
                success=success, failure=failure, timeout=timeout, rejected=rejected
            )
    return found


def days(components: list[StatusComponent], now: datetime) -> dict[int, dict]:
    """{component id: {"days": [{"date", "uptime"}] oldest first, "uptime": over the 90 days}}."""
    if not components:
        return {}
    counts = hourly_counts(components, now)
    start = first_day(now)
    dates = [(start + i * DAY).date() for i in range(DAYS)]
    out = {}
    for component in components:
        hours = counts.get(key(component), {})
        by_day: dict[date, dict] = defaultdict(dict)
        for hour, bucket in hours.items():
            by_day[hour.date()][hour] = bucket
        out[component.id] = {
            "days": [{"date": day, "uptime": availability(by_day.get(day, {}))} for day in dates],
            "uptime": availability({h: b for h, b in hours.items() if start <= h < start + DAYS * DAY}),
        }
    return out
