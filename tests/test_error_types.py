"""Errors by type at ingest: what is stored per function, type and minute, once per batch,
within the per-function cap, and rolled into hours by retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import override_settings

from monitoring import retention
from monitoring.models import ErrorHour, ErrorMinute, ErrorType
from tests.conftest import Reporter, call

# Fixed when the module loads: every call here carries a time from it (at()), never the real
# clock, since the suite may reach this file half an hour later.
NOW = datetime.now(UTC).replace(second=30, microsecond=0)


def at(seconds: float) -> str:
    return (NOW + timedelta(seconds=seconds)).isoformat()


def stored() -> dict[tuple[str, str], int]:
    """{(function, type): errors} over all minutes and shards ("" is other)."""
    counts: dict[tuple[str, str], int] = {}
    for row in ErrorMinute.objects.select_related("error_type__function"):
        key = (row.error_type.function.name, row.error_type.name)
        counts[key] = counts.get(key, 0) + row.count
    return counts


def post(reporter: Reporter, calls: list[dict], **batch: object) -> None:
    with time_machine.travel(NOW + timedelta(seconds=40), tick=False):
        answer = reporter.post({"calls": calls, **batch})
    assert answer.status_code in (200, 202), answer.content


def test_errors_are_counted_by_type_per_function(reporter: Reporter) -> None:
    post(
        reporter,
        [
            call("charge", "failure", error_type="ConnectionError", ts=at(1)),
            call("charge", "failure", error_type="ConnectionError", ts=at(5)),
            call("charge", "timeout", error_type="ReadTimeout", ts=at(2)),
            call("charge", "success", error_type="ConnectionError", ts=at(3)),  # not an error
            call("refund", "failure", error_type="ConnectionError", ts=at(4)),
            call("refund", "success", ts=at(4)),
        ],
    )
    assert stored() == {
        ("charge", "ConnectionError"): 2,
        ("charge", "ReadTimeout"): 1,
        ("refund", "ConnectionError"): 1,
    }


def test_first_and_last_seen_are_the_calls_times(reporter: Reporter) -> None:
    post(reporter, [call("charge", "failure", error_type="HTTP 503", ts=at(s)) for s in (9, 2, 20)])
    row = ErrorMinute.objects.get()
    assert (row.minute, row.first_seen, row.last_seen) == (
        NOW.replace(second=0),
        NOW + timedelta(seconds=2),
        NOW + timedelta(seconds=20),
    )


def test_an_error_without_a_type_counts_as_its_outcome(reporter: Reporter) -> None:
    calls = [call("charge", outcome, ts=at(1)) for outcome in ("failure", "timeout", "rejected", "success")]
    post(reporter, calls)
    assert stored() == {("charge", "failure"): 1, ("charge", "timeout"): 1, ("charge", "rejected"): 1}


def test_calls_in_two_minutes_are_two_rows(reporter: Reporter) -> None:
    post(reporter, [call("charge", "failure", error_type="Boom", ts=at(s)) for s in (-40, -35, 0)])
    assert sorted(ErrorMinute.objects.values_list("minute", "count")) == [
        (NOW.replace(second=0) - timedelta(minutes=1), 2),
        (NOW.replace(second=0), 1),
    ]


def test_a_retried_batch_counts_once(reporter: Reporter) -> None:
    calls = [call("charge", "failure", error_type="ConnectionError", ts=at(1)) for _ in range(3)]
    post(reporter, calls, batch_id="batch-7")
    post(reporter, calls, batch_id="batch-7")
    assert stored() == {("charge", "ConnectionError"): 3}


def test_batches_add_up(reporter: Reporter) -> None:
    for _ in range(3):
        post(reporter, [call("charge", "failure", error_type="ConnectionError", ts=at(1))])
    assert stored() == {("charge", "ConnectionError"): 3}


@override_settings(MONITOR_MAX_ERROR_TYPES=3)
def test_types_past_the_cap_count_as_other(reporter: Reporter) -> None:
    post(reporter, [call("charge", "failure", error_type=name, ts=at(1)) for name in ("A", "B")])
    post(reporter, [call("charge", "failure", error_type=name, ts=at(2)) for name in ("C", "D", "E", "A", "D")])
    assert stored() == {("charge", "A"): 2, ("charge", "B"): 1, ("charge", "C"): 1, ("charge", ""): 3}
    # Another function has room of its own.
    post(reporter, [call("refund", "failure", error_type=name, ts=at(3)) for name in ("D", "E")])
    assert stored()[("refund", "D")] == 1
    assert ErrorType.objects.filter(function__name="charge").count() == 4  # three types and other


@override_settings(MONITOR_MAX_ERROR_TYPES=1)
def test_a_type_counted_as_other_stays_other_in_later_batches(reporter: Reporter) -> None:
    post(reporter, [call("charge", "failure", error_type="A", ts=at(1))])
    for _ in range(2):
        post(reporter, [call("charge", "failure", error_type="B", ts=at(2))])
    assert stored() == {("charge", "A"): 1, ("charge", ""): 2}


def test_long_names_are_cut_and_blank_ones_count_as_the_outcome(reporter: Reporter) -> None:
    long, blank = (
        call("charge", "failure", error_type="x" * 200, ts=at(1)),
        call("charge", "timeout", error_type="   ", ts=at(2)),
    )
    post(reporter, [long, blank])
    names = set(ErrorType.objects.values_list("name", flat=True))
    assert names == {"x" * (ErrorType.NAME_LENGTH - 1) + "…", "timeout"}


@pytest.mark.parametrize("name", ["Conn\x00Error", "Conn\x07Error", "Conn\nError"])
def test_control_characters_are_refused_at_ingest(reporter: Reporter, name: str) -> None:
    answer = reporter.post({"calls": [call("charge", "failure", error_type=name)]})
    assert answer.status_code == 422
    assert answer.json()["field"] == "calls[0].error_type"
    assert not ErrorType.objects.exists()


def test_stored_names_never_hold_control_characters() -> None:
    from monitoring.batch import Call
    from monitoring.error_types import type_name

    # Whatever reaches the fold (ingest refuses these first), what is stored is printable.
    item = Call.model_construct(
        function="f", ts=NOW, duration_ms=1.0, outcome="failure", error_type="Read\x00Time\x1bout"
    )
    assert type_name(item) == "ReadTimeout"


def test_old_minutes_roll_up_into_hours_and_old_types_are_forgotten(reporter: Reporter) -> None:
    old = (NOW - timedelta(days=15)).replace(minute=5)  # both reports within one hour
    for minute in (0, 20):
        with time_machine.travel(old + timedelta(minutes=minute), tick=False):
            reporter.post({"calls": [call("charge", "failure", error_type="Old")] * 2})
    post(reporter, [call("charge", "failure", error_type="New", ts=at(1))])
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        retention.roll_up_calls()
    hour = ErrorHour.objects.get()
    assert (hour.error_type.name, hour.count) == ("Old", 4)
    assert hour.first_seen == old and hour.last_seen == old + timedelta(minutes=20)
    assert list(ErrorMinute.objects.values_list("error_type__name", flat=True)) == ["New"]

    # Past the hourly retention the hour goes, and with it the type (its room under the cap too).
    with time_machine.travel(NOW + timedelta(days=400), tick=False):
        retention.forget_old_hours()
    assert not ErrorHour.objects.exists()
    assert set(ErrorType.objects.values_list("name", flat=True)) == {"New"}


@pytest.mark.django_db(transaction=True)
def test_a_remembered_type_that_retention_forgot_is_created_again(reporter: Reporter) -> None:
    from monitoring.error_types import Registered

    post(reporter, [call("charge", "failure", error_type="Gone", ts=at(1))])
    assert Registered.ids  # this process remembers the type's id
    ErrorType.objects.all().delete()  # as retention does once no row counts it
    post(reporter, [call("charge", "failure", error_type="Gone", ts=at(2))])
    assert stored() == {("charge", "Gone"): 1}
