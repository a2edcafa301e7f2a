"""A status page over seeded calls, shared by the status page tests: internal names that must
never reach the public, hourly roll-ups and minute buckets whose uptime the tests work out
themselves, and calls in the current minute that set each component's status."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from alerts.models import StatusComponent, StatusIncident, StatusPage
from monitoring.models import CallBucket, CallHour, Function, Service

NOW = datetime(2026, 11, 30, 12, 30, 20, tzinfo=UTC)
TODAY = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
FIRST_DAY = TODAY - timedelta(days=89)
LIMIT = 0.05  # MONITOR_HEALTH_DEGRADED_ERROR_RATE's default
SERVICE, CHARGE, REFUND = "internal-payments-svc", "chargeCardInternal", "refundLedgerInternal"
INTERNAL_NAMES = (SERVICE, CHARGE, REFUND)


@dataclass(frozen=True)
class Seeded:
    """One stored row: (function name, its time, successes, failures); hourly or by the minute."""

    function: str
    at: datetime
    success: int
    failure: int
    hourly: bool


# Days seen from the page: 40 days ago (roll-ups), 3 days ago (minute buckets), today
# (minute buckets, two shards), and 89 days ago, the first bar. 10 days ago: no data at all.
ROWS = [
    Seeded(CHARGE, TODAY - timedelta(days=40) + timedelta(hours=1), 100, 0, True),
    Seeded(CHARGE, TODAY - timedelta(days=40) + timedelta(hours=2), 100, 4, True),  # 3.8 %: under the limit
    Seeded(CHARGE, TODAY - timedelta(days=40) + timedelta(hours=3), 90, 10, True),  # 10 %: over
    Seeded(REFUND, TODAY - timedelta(days=40) + timedelta(hours=3), 50, 0, True),
    Seeded(CHARGE, FIRST_DAY + timedelta(hours=23), 10, 0, True),
    Seeded(CHARGE, FIRST_DAY - timedelta(hours=1), 0, 10, True),  # the day before the 90: not read
    Seeded(CHARGE, TODAY - timedelta(days=3) + timedelta(hours=8, minutes=5), 100, 0, False),
    Seeded(REFUND, TODAY - timedelta(days=3) + timedelta(hours=8, minutes=40), 0, 20, False),  # service: 16.7 %
    Seeded(CHARGE, TODAY + timedelta(hours=10, minutes=5), 50, 0, False),
    Seeded(CHARGE, TODAY + timedelta(hours=10, minutes=40), 0, 10, False),  # hour 10: 16.7 %
    Seeded(CHARGE, TODAY + timedelta(hours=11), 100, 1, False),
]
# The current minute: charge is healthy, refund fails every call (unhealthy).
NOW_ROWS = [Seeded(CHARGE, NOW.replace(second=0), 200, 0, False), Seeded(REFUND, NOW.replace(second=0), 0, 30, False)]


def seed_calls(rows: list[Seeded], functions: dict[str, Function]) -> None:
    for shard, row in enumerate(rows):
        counts = {"function": functions[row.function], "success": row.success, "failure": row.failure}
        if row.hourly:
            CallHour.objects.create(hour=row.at, **counts)
        else:
            CallBucket.objects.create(minute=row.at, shard=shard % 4, **counts)


def status_page_rows() -> dict[str, int]:
    """A status page with a component and an incident: the {page_id}, {component_id} and
    {incident_id} of the API's paths, for the tests that walk every operation."""
    page = StatusPage.objects.create(slug="walked", title="Walked")
    component = StatusComponent.objects.create(page=page, service=Service.objects.first(), public_name="Walked")
    incident = StatusIncident.objects.create(page=page, title="Walked")
    return {"page_id": page.id, "component_id": component.id, "incident_id": incident.id}


def make_status_page(slug: str = "acme", **fields: object) -> StatusPage:
    """A page showing the whole service as "Payments" and its charge function as "Checkout"."""
    service = Service.objects.create(name=SERVICE)
    functions = {name: Function.objects.create(service=service, name=name) for name in (CHARGE, REFUND)}
    seed_calls(ROWS + NOW_ROWS, functions)
    page = StatusPage.objects.create(slug=slug, title="Acme status", **fields)
    StatusComponent.objects.create(page=page, service=service, public_name="Payments", position=1)
    StatusComponent.objects.create(
        page=page, service=service, function=functions[CHARGE], public_name="Checkout", position=2
    )
    return page


def expected_hours(functions: tuple[str, ...]) -> dict[datetime, bool]:
    """Each hour with calls of these functions over the 90 days: was its error rate under the limit?"""
    hours: dict[datetime, list[int]] = defaultdict(lambda: [0, 0])
    for row in ROWS + NOW_ROWS:
        if row.function in functions and FIRST_DAY <= row.at:
            hour = hours[row.at.replace(minute=0, second=0)]
            hour[0] += row.success + row.failure
            hour[1] += row.failure
    return {hour: errors / calls < LIMIT for hour, (calls, errors) in hours.items()}


def expected_days(functions: tuple[str, ...]) -> dict[date, float]:
    """Each day's uptime worked out from the seeded rows of these functions: the share of its
    hours with calls whose error rate is under the limit (days without calls left out)."""
    days: dict[date, list[bool]] = defaultdict(list)
    for hour, good in expected_hours(functions).items():
        days[hour.date()].append(good)
    return {day: sum(good) / len(good) for day, good in days.items()}
