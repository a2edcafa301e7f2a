"""Services' calls rolled up per minute and hour: the fold adds up exactly the minute buckets,
trends read the same figures from the roll-ups as from the buckets, and a late call is
counted before and after the fold folds its minute again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from monitoring import histogram, rollups
from monitoring.models import (
    CallBucket,
    FleetHour,
    FleetMinute,
    Function,
    LateMinute,
    RollupMark,
    Service,
    ServiceHour,
    ServiceMinute,
)
from monitoring.ranges import HOUR, floor
from tests import test_trends_api as trends
from tests.alert_fixtures import People
from tests.conftest import Reporter

NOW = trends.NOW
MINUTE = timedelta(minutes=1)


@pytest.fixture
def folded(db: None) -> dict[str, Function]:
    """The trends tests' calls, folded as the periodic job would have by NOW."""
    services = {name: Service.objects.create(name=name) for name in set(trends.SERVICES.values())}
    functions = {name: Function.objects.create(service=services[s], name=name) for name, s in trends.SERVICES.items()}
    for calls in trends.SEEDED:
        trends.stored_row(calls, functions[calls.function]).save()
    rollups.fold(NOW)
    return functions


def added_up(rows: list, key: Callable) -> dict:
    """{key(row): (counts..., histogram)} of rows added up."""
    sums: dict = {}
    for row in rows:
        found = sums.setdefault(key(row), [0, 0, 0, 0, 0, 0.0, 0.0, {}])
        for i, name in enumerate(("success", "failure", "timeout", "rejected", "retries", "latency_sum_ms")):
            found[i] += getattr(row, name)
        found[6] = max(found[6], row.latency_max_ms)
        histogram.merge(found[7], {str(k): int(v) for k, v in row.histogram.items()})
    return {k: (*v[:6], v[6], v[7]) for k, v in sums.items()}


def approx(sums: dict) -> dict:
    return {k: (*v[:5], pytest.approx(v[5]), pytest.approx(v[6]), v[7]) for k, v in sums.items()}


def test_the_fold_adds_up_every_minute_bucket_per_service_and_hour(folded: dict[str, Function]) -> None:
    mark = RollupMark.objects.get()
    # From the oldest minute bucket's hour to two minutes before now.
    assert mark.since == floor(NOW - timedelta(days=13, hours=22), HOUR)
    assert mark.through == floor(NOW, MINUTE) - timedelta(minutes=2)
    buckets = CallBucket.objects.filter(minute__gte=mark.since, minute__lt=mark.through).select_related("function")
    by_minute = added_up(list(buckets), lambda row: (row.function.service_id, row.minute))
    assert len(by_minute) == 11
    assert added_up(list(ServiceMinute.objects.all()), lambda row: (row.service_id, row.minute)) == approx(by_minute)
    by_hour = added_up(list(buckets), lambda row: (row.function.service_id, floor(row.minute, HOUR)))
    # Every whole hour is rolled up; the current hour is not over yet.
    whole = {key: sums for key, sums in by_hour.items() if key[1] + HOUR <= mark.through}
    assert len(whole) == 9
    assert added_up(list(ServiceHour.objects.all()), lambda row: (row.service_id, row.hour)) == approx(whole)
    # The fleet's: every service's added up.
    fleet = added_up(list(buckets), lambda row: row.minute)
    assert added_up(list(FleetMinute.objects.all()), lambda row: row.minute) == approx(fleet)
    fleet_hours = added_up(list(buckets), lambda row: floor(row.minute, HOUR))
    whole_fleet = {hour: sums for hour, sums in fleet_hours.items() if hour + HOUR <= mark.through}
    assert added_up(list(FleetHour.objects.all()), lambda row: row.hour) == approx(whole_fleet)


def test_folding_again_changes_nothing(folded: dict[str, Function]) -> None:
    before = list(ServiceMinute.objects.order_by("id").values())
    assert rollups.fold(NOW) == 0
    RollupMark.objects.update(through=RollupMark.objects.get().since)  # as if never folded
    rollups.fold(NOW)
    assert list(ServiceMinute.objects.order_by("id").values()) == before


SERVICE_AND_FLEET = [
    trends.test_a_service_over_24_hours_against_a_week_ago,
    trends.test_the_fleet_adds_every_service,
    trends.test_a_custom_range_across_the_roll_up_boundary,
    trends.test_a_service_series_sums_its_functions_per_step,
    trends.test_a_service_series_defaults_to_the_last_hour,
]


@pytest.mark.parametrize(
    "check",
    [
        *SERVICE_AND_FLEET,
        trends.test_one_function_leaves_out_its_neighbours,
        trends.test_thirty_days_read_hourly_rows_and_minute_buckets_as_one,
    ],
    ids=lambda check: check.__name__,
)
def test_trends_give_the_same_figures_once_folded(people: People, folded: dict[str, Function], check: Callable) -> None:
    check(people, folded)


@pytest.mark.parametrize("check", SERVICE_AND_FLEET, ids=lambda check: check.__name__)
def test_service_and_fleet_trends_read_the_roll_ups(
    people: People, folded: dict[str, Function], check: Callable
) -> None:
    # With the folded minutes' buckets gone, the figures can only come from the roll-ups.
    mark = RollupMark.objects.get()
    gone, _ = CallBucket.objects.filter(minute__gte=mark.since, minute__lt=mark.through).delete()
    assert gone == 11
    check(people, folded)


def test_a_member_of_the_only_project_reads_the_fleets_own_roll_ups(
    people: People, folded: dict[str, Function]
) -> None:
    # The viewer is in the only project: their fleet is the whole fleet, one row a step in
    # the fleet's roll-ups (the services' roll-ups gone, the figures are still whole).
    mark = RollupMark.objects.get()
    CallBucket.objects.filter(minute__gte=mark.since, minute__lt=mark.through).delete()
    ServiceMinute.objects.all().delete()
    ServiceHour.objects.all().delete()
    trends.test_the_fleet_adds_every_service(people, folded)


def test_thirty_days_across_the_roll_ups_start(people: People, folded: dict[str, Function]) -> None:
    # Hourly rows before the roll-ups begin, service hours after, minutes at the end.
    service = folded["charge"].service_id
    answer = trends.get(people, f"/api/v1/services/{service}/trend?range=30d")
    assert answer["step_s"] == 3600
    trends.assert_figures(answer, {"charge", "refund"})
    trends.assert_figures(answer["week_ago"], {"charge", "refund"})
    assert answer["calls"] == 100 + 100 + 40 + 30 + 80 + 20 + 90 + 70 + 200 + 20 + 25


def test_a_fold_that_stood_still_past_retention_starts_afresh(folded: dict[str, Function]) -> None:
    later = NOW + timedelta(days=20)
    rollups.fold(later)
    mark = RollupMark.objects.get()
    assert mark.since == floor(later - timedelta(days=14), HOUR) + HOUR
    assert mark.through == floor(later, MINUTE) - timedelta(minutes=2)


def late_call(minutes_ago: int, duration_ms: float) -> dict:
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return {"function": "charge", "ts": at.isoformat(), "duration_ms": duration_ms, "outcome": "failure"}


def test_a_late_call_is_in_the_trend_before_and_after_the_fold(people: People, reporter: Reporter) -> None:
    with time_machine.travel(NOW, tick=False):
        assert reporter.post({"calls": [late_call(0, 10.0)] * 3}).status_code == 202
    service = Service.objects.get(name="payments")
    assert not LateMinute.objects.exists()  # calls of this minute: nothing recorded
    later = NOW + timedelta(minutes=40)
    rollups.fold(later)
    path = f"/api/v1/services/{service.id}/trend?range=1h"

    def trend() -> dict:
        with time_machine.travel(later, tick=False):
            answer = people.viewer.get(path)
        assert answer.status_code == 200
        return answer.json()

    assert (trend()["calls"], trend()["errors"]) == (3, 3)
    with time_machine.travel(later, tick=False):
        # 30 minutes late: its minute was folded 28 minutes ago.
        assert reporter.post({"calls": [late_call(30, 5000.0)] * 2}).status_code == 202
    assert LateMinute.objects.count() == 1
    before_fold = trend()
    assert (before_fold["calls"], before_fold["errors"]) == (5, 5)
    assert before_fold["p95_ms"] == pytest.approx(5000, rel=0.05)
    rollups.fold(later)
    assert not LateMinute.objects.exists()
    assert trend() == before_fold
    minute = floor(later - timedelta(minutes=30), MINUTE)
    assert ServiceMinute.objects.get(service=service, minute=minute).failure == 2
    assert FleetMinute.objects.get(minute=minute).failure == 2


def test_a_late_call_into_a_whole_hour_folds_the_hour_again(people: People, reporter: Reporter) -> None:
    with time_machine.travel(NOW, tick=False):
        assert reporter.post({"calls": [late_call(0, 10.0)]}).status_code == 202
    later = NOW + timedelta(hours=3)
    rollups.fold(later)
    with time_machine.travel(later, tick=False):
        assert reporter.post({"calls": [late_call(180, 20.0)] * 4}).status_code == 202
    rollups.fold(later)
    hour = ServiceHour.objects.get(hour=floor(NOW, HOUR))
    assert hour.failure == 1 + 4
    assert FleetHour.objects.get(hour=floor(NOW, HOUR)).failure == 1 + 4
    assert FleetMinute.objects.get(minute=floor(NOW, MINUTE)).failure == 1 + 4


def test_a_steady_batch_records_nothing(client: Client, reporter: Reporter) -> None:
    for _ in range(3):  # the second and later take the steady path on PostgreSQL
        assert reporter.post({"calls": [late_call(0, 10.0)]}).status_code == 202
    assert not LateMinute.objects.exists()
    assert reporter.post({"calls": [late_call(10, 10.0)]}).status_code == 202
    assert LateMinute.objects.count() == 1
