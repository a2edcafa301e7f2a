"""A function's last outcomes as the dashboard shows them: on PostgreSQL kept in the minute
buckets by the same upsert as the counts, merged with the strips written before and with
those retention carried over from minute buckets it deleted; on SQLite in the strips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client

from monitoring import retention
from monitoring.models import CallBucket, Function, OutcomeStrip
from monitoring.outcomes import recent_outcomes
from tests.conftest import Reporter, call

pytestmark = pytest.mark.django_db(transaction=True)  # the steady path remembers names on commit


def at(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def entry(moment: datetime, letter: str) -> str:
    return f"{int(moment.timestamp() * 1000):013d}{letter}"


def outcomes_of(name: str) -> list[str]:
    function_id = Function.objects.get(name=name).id
    return recent_outcomes([function_id]).get(function_id, [])


def test_the_last_twenty_outcomes_across_minutes_and_batches(reporter: Reporter) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    earlier = now - timedelta(minutes=1, seconds=5)  # another minute's bucket rows
    old = [{**call(outcome="failure"), "ts": at(earlier)}] * 18
    assert reporter.post({"calls": old}).status_code == 202
    for _ in range(2):  # the steady path on PostgreSQL once the names are known
        assert reporter.post({"calls": [call(), call(outcome="timeout")]}).status_code == 202
    assert outcomes_of("charge") == ["failure"] * 16 + ["success", "timeout"] * 2


def test_outcomes_of_a_batch_spanning_minutes_are_kept_with_each_minute(reporter: Reporter) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    earlier = now - timedelta(minutes=1, seconds=5)
    calls = [{**call(outcome="rejected"), "ts": at(earlier)}, {**call(), "ts": at(now)}]
    assert reporter.post({"calls": calls}).status_code == 202
    assert outcomes_of("charge") == ["rejected", "success"]
    if connection.vendor == "postgresql":
        kept = dict(CallBucket.objects.values_list("minute", "outcomes"))
        assert kept == {
            earlier.replace(second=0): entry(earlier, "r"),
            now.replace(second=0): entry(now, "s"),
        }


def test_strips_written_before_the_buckets_kept_outcomes_still_read(reporter: Reporter) -> None:
    # An upgraded database: a function's strips from before, then newer calls.
    assert reporter.post({"calls": [call()]}).status_code == 202
    function = Function.objects.get(name="charge")
    hours_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    OutcomeStrip.objects.update_or_create(
        function=function, shard=3, defaults={"entries": entry(hours_ago, "f") + entry(hours_ago, "t")}
    )
    assert outcomes_of("charge") == ["failure", "timeout", "success"]


def test_a_function_whose_last_calls_are_hours_old_shows_them(client: Client, reporter: Reporter) -> None:
    hours_ago = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=6)
    assert reporter.post({"calls": [call("quiet")]}).status_code == 202
    quiet = Function.objects.get(name="quiet")
    # Its bucket rows as the ingest left them six hours ago (the window refuses calls that old).
    CallBucket.objects.filter(function=quiet).delete()
    OutcomeStrip.objects.filter(function=quiet).delete()
    outcomes = entry(hours_ago, "s") + entry(hours_ago + timedelta(seconds=1), "f")
    if connection.vendor == "postgresql":
        CallBucket.objects.create(function=quiet, minute=hours_ago, success=1, failure=1, outcomes=outcomes)
    else:  # SQLite's writer keeps them in the strips
        CallBucket.objects.create(function=quiet, minute=hours_ago, success=1, failure=1)
        OutcomeStrip.objects.create(function=quiet, shard=0, entries=outcomes)
    assert outcomes_of("quiet") == ["success", "failure"]


def test_retention_keeps_the_outcomes_of_the_buckets_it_deletes(reporter: Reporter) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    calls = [{**call(outcome="timeout"), "ts": at(now - timedelta(seconds=2))}, call()]
    assert reporter.post({"calls": calls}).status_code == 202
    shown = outcomes_of("charge")
    assert shown == ["timeout", "success"]
    retention.roll_up_call_chunk(now + timedelta(hours=1))
    assert not CallBucket.objects.exists()  # every minute rolled into hours
    assert outcomes_of("charge") == shown
    # Rolled up again with newer calls: the strip keeps the newest twenty, in time order.
    later = [call(outcome="failure")] * 25
    assert reporter.post({"calls": later}).status_code == 202
    retention.roll_up_call_chunk(now + timedelta(hours=1))
    assert outcomes_of("charge") == ["failure"] * 20
