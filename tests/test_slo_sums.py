"""The SLO round reads every SLO's windows at once (alerts/slo_sums.py): the counts are the
same as reading each SLO alone (alerts/slo_counts.py), whether the hours come from the minute
buckets, the function hours the fold writes, or the hourly roll-ups past retention; after
late calls and with a function deleted too. The round keeps the function hours' sums between
rounds: a steady round reads none, and one after the fold wrote hours reads them again."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from alerts import slo_counts, slo_evaluate, slo_minutes, slo_read, slo_sums
from alerts.models import SLO, Alert
from monitoring import histogram, rollups
from monitoring.models import CallBucket, CallHour, Function, FunctionHour, LateMinute, RollupMark
from monitoring.ranges import HOUR, floor
from tests.slo_fixtures import NOW, make_function, make_slo

MINUTE = timedelta(minutes=1)
# Long enough for the 3-day alert windows, and the 7-day SLO window to reach the roll-ups.
MINUTES = 3 * 24 * 60 + 90
FAST, SLOW = histogram.bucket_of(120.0), histogram.bucket_of(900.0)


def bucket(function: Function, minute: datetime, n: int) -> CallBucket:
    """Calls that vary by minute and function, so every window edge changes the sums."""
    bad = (n * 7 + function.id) % 5
    slow = (n * 3 + function.id) % 4
    return CallBucket(
        function=function,
        minute=minute,
        success=10 + n % 3,
        failure=bad,
        timeout=n % 2,
        histogram={str(FAST): 10 + n % 3 + bad - slow, str(SLOW): slow + n % 2},
    )


def seed(functions: list[Function], minutes: int = MINUTES) -> None:
    last = floor(NOW, MINUTE)
    rows = [bucket(f, last - i * MINUTE, i) for f in functions for i in range(0, minutes, 1 + f.id % 2)]
    CallBucket.objects.bulk_create(rows, batch_size=5000)
    oldest = floor(last - minutes * MINUTE, HOUR)
    hours = [
        CallHour(
            function=f,
            hour=oldest - i * HOUR,
            success=500 + i,
            failure=i % 7,
            histogram={str(FAST): 480, str(SLOW): 27},
        )
        for f in functions
        for i in range(1, 24 * 5)
    ]
    CallHour.objects.bulk_create(hours, batch_size=5000)


@pytest.fixture
def slos(db: None) -> list[SLO]:
    charge, refund = make_function("payments", "charge"), make_function("payments", "refund")
    search = make_function("catalog", "search")
    seed([charge, refund, search])
    week = {"name": "week", "long_minutes": 6 * 24 * 60, "short_minutes": 60, "burn_rate": 1, "severity": "low"}
    long_window = [week]
    return [
        make_slo(charge, name="charge succeeds"),
        make_slo(charge, name="charge is fast", objective="latency", latency_ms=800, target=99, window_days=7),
        make_slo(search, name="search is fast", objective="latency", latency_ms=100, target=95),
        make_slo(search, name="search week", window_days=7, burn_alerts=long_window),
        make_slo(charge, name="payments succeed", function=None, target=99.5),
        make_slo(charge, name="payments fast", function=None, objective="latency", latency_ms=800, target=99),
        make_slo(charge, name="payments week", function=None, window_days=7, burn_alerts=long_window),
    ]


def assert_same(slos: list[SLO], now: datetime) -> None:
    slos = [SLO.objects.get(id=slo.id) for slo in slos]
    wanted = {slo: slo_read.spans(slo, budget=False) for slo in slos}
    together = slo_sums.round_counts(wanted, now)
    for slo, spans in wanted.items():
        alone = slo_counts.window_counts(slo, spans, now)
        assert together[slo.id] == alone, slo.name
        assert any(c.total for c in alone.values()), slo.name


MOMENTS = [NOW, NOW + 17 * MINUTE, floor(NOW, HOUR) + HOUR, NOW + 2 * HOUR + 31 * MINUTE]


def test_it_counts_as_each_slo_alone_from_minute_buckets(slos: list[SLO]) -> None:
    for now in MOMENTS:
        assert_same(slos, now)


def test_it_counts_as_each_slo_alone_from_the_folded_hours(slos: list[SLO]) -> None:
    rollups.fold(NOW)
    assert FunctionHour.objects.count() > 3 * 70
    for now in MOMENTS:
        assert_same(slos, now)


def test_it_reads_the_folded_hours_rather_than_their_minutes(slos: list[SLO]) -> None:
    rollups.fold(NOW)
    # Changed behind the fold's back (no late minute recorded): only the minute buckets change.
    CallBucket.objects.filter(minute__lt=NOW - 3 * HOUR).update(success=0)
    wanted = {slo: slo_read.spans(slo, budget=False) for slo in slos[:1]}
    together = slo_sums.round_counts(wanted, NOW)[slos[0].id]
    alone = slo_counts.window_counts(slos[0], wanted[slos[0]], NOW)
    three_days = timedelta(days=3)
    assert together[three_days].good > alone[three_days].good
    assert together[timedelta(minutes=5)] == alone[timedelta(minutes=5)]


def test_it_counts_late_calls_before_and_after_the_fold_folds_them_again(slos: list[SLO]) -> None:
    rollups.fold(NOW)
    charge = Function.objects.get(name="charge")
    late = floor(NOW, HOUR) - 5 * HOUR + 7 * MINUTE
    CallBucket.objects.create(function=charge, minute=late, shard=1, failure=40, histogram={str(SLOW): 40})
    LateMinute.objects.create(service=charge.service, minute=late)
    for now in MOMENTS:
        assert_same(slos, now)
    rollups.fold(NOW + MINUTE)
    assert not LateMinute.objects.exists()
    for now in MOMENTS:
        assert_same(slos, now)


def test_it_counts_as_each_slo_alone_past_the_minute_buckets_retention(slos: list[SLO]) -> None:
    with override_settings(MONITOR_RAW_RETENTION_DAYS=2):
        rollups.fold(NOW)
        for now in MOMENTS:
            assert_same(slos, now)


def test_it_leaves_out_a_deleted_function(slos: list[SLO]) -> None:
    rollups.fold(NOW)
    Function.objects.get(name="refund").delete()
    for now in MOMENTS:
        assert_same(slos, now)


def test_the_round_fires_what_each_slo_alone_would(slos: list[SLO]) -> None:
    rollups.fold(NOW)
    slo_evaluate.evaluate_slos(NOW)
    fired = set(Alert.objects.values_list("fingerprint", flat=True))
    expected = {
        slo_read.fingerprint(slo, reading.alert.name)
        for slo in slos
        for reading in slo_read.status(slo, NOW, budget=False).readings
        if reading.breaching
    }
    assert fired == expected
    assert fired


def test_it_reads_no_function_hours_from_before_the_fold_wrote_them(slos: list[SLO]) -> None:
    rollups.fold(NOW)
    # As a mark folded before function hours existed: its hours have none.
    FunctionHour.objects.all().delete()
    RollupMark.objects.update(hours_since=None)
    for now in MOMENTS:
        assert_same(slos, now)
    later = NOW + 2 * HOUR
    rollups.fold(later)
    # The hour the mark was in is added up whole, from its minute buckets.
    assert set(FunctionHour.objects.values_list("hour", flat=True)) == {floor(NOW, HOUR) - HOUR, floor(NOW, HOUR)}
    assert_same(slos, later + 31 * MINUTE)


def test_the_fold_forgets_function_hours_past_the_minute_buckets_retention(slos: list[SLO]) -> None:
    rollups.fold(NOW)
    with override_settings(MONITOR_RAW_RETENTION_DAYS=2):
        rollups.forget_old(NOW)
    assert FunctionHour.objects.order_by("hour").first().hour == floor(NOW - timedelta(days=2), HOUR)


def function_hour_reads(slos: list[SLO], now: datetime) -> int:
    """The statements reading function hours in a round (the counts checked as well)."""
    with CaptureQueriesContext(connection) as queries:
        assert_same(slos, now)
    return sum(FunctionHour._meta.db_table in query["sql"] for query in queries.captured_queries)


def test_a_steady_round_reads_no_function_hours(slos: list[SLO]) -> None:
    rollups.fold(NOW)
    assert function_hour_reads(slos, NOW) > 0
    # Nor the minutes of the hours the long windows start in: the same ones, kept.
    kept = dict(slo_minutes.KEPT)
    assert len(kept) == 2  # the 6-hour and 3-day windows' first hours
    # But the rows of the hours the windows' starts move to at the turn, once in the hour.
    assert function_hour_reads(slos, NOW + 17 * MINUTE) == 2
    assert function_hour_reads(slos, NOW + 18 * MINUTE) == 0
    assert all(slo_minutes.KEPT[key] is hour for key, hour in kept.items())


def test_a_round_after_the_fold_wrote_an_hour_reads_them_again(slos: list[SLO]) -> None:
    rollups.fold(NOW)
    assert_same(slos, NOW)
    later = floor(NOW, HOUR) + HOUR + 3 * MINUTE
    rollups.fold(later)
    assert function_hour_reads(slos, later) > 0


def test_late_calls_folded_again_between_two_rounds_are_counted(slos: list[SLO]) -> None:
    rollups.fold(NOW)
    assert_same(slos, NOW)
    charge = Function.objects.get(name="charge")
    late = floor(NOW, HOUR) - 5 * HOUR + 7 * MINUTE
    CallBucket.objects.create(function=charge, minute=late, shard=1, failure=40, histogram={str(SLOW): 40})
    LateMinute.objects.create(service=charge.service, minute=late)
    # Folded again before the next round: no late minute is listed any more and the hours are
    # the same, but their sums are not.
    rollups.fold(NOW + 20 * timedelta(seconds=1))
    assert not LateMinute.objects.exists()
    assert function_hour_reads(slos, NOW) > 0


def test_late_calls_into_the_hour_a_window_starts_in_are_counted(slos: list[SLO]) -> None:
    rollups.fold(NOW)
    assert_same(slos, NOW)
    charge = Function.objects.get(name="charge")
    first_hour = floor(NOW - 6 * HOUR, HOUR)  # the 6-hour window's: its minutes are kept
    for n, minute in enumerate((first_hour + 59 * MINUTE, first_hour + 58 * MINUTE)):
        CallBucket.objects.create(function=charge, minute=minute, shard=1, failure=40, histogram={str(SLOW): 40})
        LateMinute.objects.create(service=charge.service, minute=minute)
        if n == 0:
            # Added up again before the next round: the hours are the same, their sums are not.
            rollups.fold(NOW + 20 * timedelta(seconds=1))
            assert not LateMinute.objects.exists()
        # Then listed late, not added up yet: read from the minute buckets.
        assert_same(slos, NOW + 20 * timedelta(seconds=1))


def settled_through() -> datetime:
    return RollupMark.objects.get().through


def test_a_round_after_the_fold_moves_its_mark_adds_only_the_minutes_settled_since(slos: list[SLO]) -> None:
    rollups.fold(NOW)
    assert_same(slos, NOW)
    kept = slo_minutes.SETTLED[0]
    assert kept.through == settled_through()
    # Minute by minute, then past the hour the fold completes (a new hours version, the same
    # minutes), then far enough that the oldest minutes kept are dropped.
    for step in (1, 2, 17, 63, 64):
        now = NOW + step * MINUTE
        rollups.fold(now)
        assert_same(slos, now)
        assert slo_minutes.SETTLED[0] is kept
        assert kept.through == settled_through()
    assert kept.start > NOW - HOUR


def test_late_calls_into_kept_settled_minutes_are_counted(slos: list[SLO]) -> None:
    rollups.fold(NOW)
    assert_same(slos, NOW)
    later = NOW + 17 * MINUTE
    rollups.fold(later)
    assert_same(slos, later)
    charge = Function.objects.get(name="charge")
    # A minute of the hour the fold has just completed, and one of the hour under way: both
    # settled, both kept for the hour-long window.
    for minute in (floor(NOW, HOUR) - 20 * MINUTE, floor(later, MINUTE) - 5 * MINUTE):
        assert slo_minutes.SETTLED[0].start <= minute < settled_through()
        for n in range(2):
            CallBucket.objects.create(
                function=charge, minute=minute, shard=2 + n, failure=40, histogram={str(SLOW): 40}
            )
            LateMinute.objects.create(service=charge.service, minute=minute)
            if n == 0:
                # Taken by the fold before the next round: no late minute is listed any more,
                # the mark has not moved, the minute's sums have.
                mark = settled_through()
                rollups.fold(later + 20 * timedelta(seconds=1))
                assert not LateMinute.objects.exists()
                assert settled_through() == mark
            # Then listed late, not taken yet: read again.
            assert_same(slos, later + 20 * timedelta(seconds=1))


def test_a_round_after_a_restart_counts_the_same(slos: list[SLO]) -> None:
    rollups.fold(NOW)
    assert_same(slos, NOW)
    later = NOW + 17 * MINUTE
    rollups.fold(later)
    charge = Function.objects.get(name="charge")
    minute = floor(later, MINUTE) - 9 * MINUTE
    CallBucket.objects.create(function=charge, minute=minute, shard=2, failure=40, histogram={str(SLOW): 40})
    LateMinute.objects.create(service=charge.service, minute=minute)
    # A new process keeps nothing.
    slo_sums.KEPT.clear()
    slo_minutes.KEPT.clear()
    slo_minutes.SETTLED.clear()
    assert_same(slos, later)
    rollups.fold(later + MINUTE)
    assert_same(slos, later + MINUTE)


def test_the_hour_a_window_as_long_as_the_retention_starts_in_is_kept(slos: list[SLO]) -> None:
    # The 3-day windows start in the retention's cutoff hour, before the function hours.
    with override_settings(MONITOR_RAW_RETENTION_DAYS=3):
        rollups.fold(NOW)
        assert_same(slos, NOW)
        hours = {key[0] for key in slo_minutes.KEPT}
        assert floor(NOW - timedelta(days=3), HOUR) in hours
        for now in (NOW + 17 * MINUTE, NOW + 40 * MINUTE):
            rollups.fold(now)
            assert_same(slos, now)


def hours_read(slos: list[SLO], now: datetime) -> list[str]:
    """The statements reading function hours in a round at `now` (the counts checked as well)."""
    with CaptureQueriesContext(connection) as queries:
        assert_same(slos, now)
    return [query["sql"] for query in queries.captured_queries if FunctionHour._meta.db_table in query["sql"]]


def test_the_hour_the_fold_adds_is_added_to_the_kept_sums_and_the_hour_a_window_leaves_taken_off(
    slos: list[SLO], monkeypatch: pytest.MonkeyPatch
) -> None:
    rollups.fold(NOW)
    assert_same(slos, NOW)
    kept = slo_sums.KEPT[0]
    version = RollupMark.objects.get().hours_version
    top = floor(NOW, HOUR)
    # The windows' starts move an hour on (13:00:30), then the fold adds the 12:00 hour (13:02:30),
    # then both at once an hour later: each round reads a few hours, never all again.
    for now in (top + HOUR + 30 * timedelta(seconds=1), top + HOUR + 2 * MINUTE + 30 * timedelta(seconds=1)):
        rollups.fold(now)
        before = kept.updates
        statements = hours_read(slos, now)
        assert slo_sums.KEPT[0] is kept
        assert kept.updates == before + 1
        # Per hour read (the new one, the windows' new first hours), not the 3 days' range.
        assert statements and all("hour >=" not in sql for sql in statements)
    assert kept.hours[-1][1] == top + HOUR
    later = top + 2 * HOUR + 3 * MINUTE
    rollups.fold(later)
    assert RollupMark.objects.get().hours_version == version  # adding an hour keeps the version
    assert hours_read(slos, later)
    assert slo_sums.KEPT[0] is kept and kept.hours[-1][1] == top + 2 * HOUR
    # A round with nothing new reads no function hours; one later in the hour reads the next
    # first hours ahead, so that the round after the turn reads the new hour alone.
    assert not hours_read(slos, later + 20 * timedelta(seconds=1))
    assert hours_read(slos, later + 20 * MINUTE)
    assert set(kept.upcoming) == {hour + HOUR for hour in kept.first}
    read = []
    read_hours = slo_sums.read_hours
    monkeypatch.setattr(
        slo_sums, "read_hours", lambda conditions, *args: read.append(conditions) or read_hours(conditions, *args)
    )
    turned = later + HOUR
    rollups.fold(turned)
    assert_same(slos, turned)
    assert [len(conditions) for conditions in read] == [1] and not kept.upcoming


def test_late_calls_into_an_old_hour_after_the_kept_sums_were_brought_up_to_date_are_counted(
    slos: list[SLO],
) -> None:
    rollups.fold(NOW)
    assert_same(slos, NOW)
    later = floor(NOW, HOUR) + HOUR + 3 * MINUTE
    rollups.fold(later)
    assert_same(slos, later)
    assert slo_sums.KEPT[0].updates == 1
    charge = Function.objects.get(name="charge")
    late = floor(NOW, HOUR) - 30 * HOUR + 7 * MINUTE  # inside the 3-day windows' kept hours
    CallBucket.objects.create(function=charge, minute=late, shard=1, failure=40, histogram={str(SLOW): 40})
    LateMinute.objects.create(service=charge.service, minute=late)
    # Listed late: its hour is read from the minute buckets, the other hours' sums read again.
    assert_same(slos, later + MINUTE)
    assert slo_sums.KEPT[0].updates == 0
    # Folded again: a new version, all read again; then the next hour is added to those.
    rollups.fold(later + MINUTE)
    assert not LateMinute.objects.exists()
    assert_same(slos, later + MINUTE)
    kept = slo_sums.KEPT[0]
    assert kept.updates == 0 and kept.key[2] == RollupMark.objects.get().hours_version
    rollups.fold(later + HOUR)
    assert_same(slos, later + HOUR)
    assert slo_sums.KEPT[0] is kept and kept.updates == 1


def test_the_kept_sums_brought_up_to_date_count_as_read_whole_and_as_after_a_restart(slos: list[SLO]) -> None:
    rollups.fold(NOW)
    assert_same(slos, NOW)
    now = NOW
    for _ in range(3):
        now += HOUR
        rollups.fold(now)
        assert_same(slos, now)
    kept = slo_sums.KEPT[0]
    assert kept.updates == 3
    # A new process keeps nothing: everything read whole, the same sums.
    slo_sums.KEPT.clear()
    slo_minutes.KEPT.clear()
    slo_minutes.SETTLED.clear()
    assert_same(slos, now)
    fresh = slo_sums.KEPT[0]
    assert fresh is not kept and fresh.updates == 0
    assert (fresh.hours, fresh.success, fresh.buckets) == (kept.hours, kept.success, kept.buckets)
    # Two hours on at once (the process idle): the first hours left are not kept, all read again.
    now += 2 * HOUR
    rollups.fold(now)
    assert_same(slos, now)
    assert slo_sums.KEPT[0].updates == 0


def test_the_next_hours_the_windows_start_in_are_read_ahead_before_the_hour_turns(
    slos: list[SLO], monkeypatch: pytest.MonkeyPatch
) -> None:
    top = floor(NOW, HOUR)
    rollups.fold(NOW)
    assert_same(slos, NOW)
    upcoming = {hour + HOUR for hour in (key[0] for key in slo_minutes.KEPT)}
    assert len(upcoming) == 2 and not any(a.through > h for h, a in slo_minutes.AHEAD.items())
    # A slice a round through the hour; all of it ten minutes before the hour turns.
    for minutes, read in ((20, 20), (40, 47), (50, 60), (55, 60)):
        now = top + minutes * MINUTE + 30 * timedelta(seconds=1)
        rollups.fold(now)
        assert_same(slos, now)
        assert set(slo_minutes.AHEAD) == upcoming
        assert all(a.through == h + read * MINUTE for h, a in slo_minutes.AHEAD.items())
    ready = {hour: ahead.success for hour, ahead in slo_minutes.AHEAD.items()}
    turned = top + HOUR + 2 * MINUTE + 30 * timedelta(seconds=1)
    rollups.fold(turned)
    read = []
    rows = slo_minutes.rows
    monkeypatch.setattr(slo_minutes, "rows", lambda start, *args: read.append(start) or rows(start, *args))
    assert_same(slos, turned)
    # The round after the turn finds them read: it reads none of their minutes.
    assert {key[0] for key in slo_minutes.KEPT} == upcoming
    assert all(slo_minutes.KEPT[key].success is ready[key[0]] for key in slo_minutes.KEPT)
    assert read and not [start for start in read if floor(start, HOUR) in upcoming]


def test_late_calls_into_an_hour_read_ahead_are_counted(slos: list[SLO]) -> None:
    top = floor(NOW, HOUR)
    rollups.fold(NOW)
    now = top + 52 * MINUTE
    rollups.fold(now)
    assert_same(slos, now)
    charge = Function.objects.get(name="charge")
    upcoming = sorted(slo_minutes.AHEAD)
    minute = upcoming[-1] + 33 * MINUTE  # the 6-hour window's next first hour, read ahead
    CallBucket.objects.create(function=charge, minute=minute, shard=2, failure=40, histogram={str(SLOW): 40})
    LateMinute.objects.create(service=charge.service, minute=minute)
    turned = top + HOUR + 2 * MINUTE + 30 * timedelta(seconds=1)
    # Listed, not taken yet: after the turn the hour is read from the minute buckets.
    assert_same(slos, turned)
    # Taken by the fold: a new minutes version, what was read ahead is not used.
    rollups.fold(turned)
    assert not LateMinute.objects.exists()
    assert_same(slos, turned + MINUTE)
    # Read ahead again for the next turn, counted the same.
    for minutes in (30, 52, 62 + 2):
        now = top + HOUR + minutes * MINUTE + 30 * timedelta(seconds=1)
        rollups.fold(now)
        assert_same(slos, now)
