"""The rule preview replays the evaluation over the last 24 hours of seeded history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.models import Rule
from alerts.rule_preview import preview
from monitoring.models import BreakerFlip, CallBucket, Function, Service
from queues.models import Queue, Snapshot
from tests.alert_fixtures import People

NOW = timezone.now().replace(second=0, microsecond=0)
END = NOW


def function(service: str, name: str) -> Function:
    owner, _ = Service.objects.get_or_create(name=service)
    return Function.objects.create(service=owner, name=name, last_seen=NOW)


def minutes(function: Function, first: int, last: int, success: int = 0, failure: int = 0, ms: int = 10) -> None:
    """Buckets for the minutes `first` to `last` minutes ago (inclusive)."""
    CallBucket.objects.bulk_create(
        CallBucket(
            function=function,
            minute=END - timedelta(minutes=ago),
            success=success,
            failure=failure,
            latency_max_ms=ms,
            latency_sum_ms=ms * (success + failure),
            histogram={str(bucket_of(ms)): success + failure},
        )
        for ago in range(last, first - 1, -1)
    )


def bucket_of(ms: float) -> int:
    from monitoring import histogram

    return histogram.bucket_of(ms)


def rule(**fields: object) -> Rule:
    values = {"name": "r", "metric": "error_rate", "op": ">", "threshold": 0.5, "window_minutes": 5, "min_calls": 1}
    return Rule(**{**values, **fields})


@pytest.fixture
def two_bad_stretches(db: None) -> Function:
    """payments/charge fails hard twice (an hour ago and half an hour ago); refund never does;
    shop/cart fails all day but is out of the payments scope."""
    charge, refund, cart = function("payments", "charge"), function("payments", "refund"), function("shop", "cart")
    minutes(charge, 70, 200, success=10)
    minutes(charge, 55, 69, failure=9, success=1)
    minutes(charge, 35, 54, success=10)
    minutes(charge, 20, 34, failure=8, success=2)
    minutes(charge, 0, 19, success=10)
    minutes(refund, 0, 200, success=5)
    minutes(cart, 0, 200, failure=5)
    return charge


def test_a_rule_that_would_have_fired_twice_on_one_subject_says_2_and_names_it(two_bad_stretches: Function) -> None:
    answer = preview(rule(service="payments"), now=NOW)
    assert answer["available"] and answer["fired"] == 2
    assert [(s["service"], s["subject"], s["fired"]) for s in answer["subjects"]] == [("payments", "charge", 2)]
    assert answer["subjects_with_data"] == 1  # only charge ever passed the threshold
    first, last = answer["subjects"][0]["first_at"], answer["subjects"][0]["last_at"]
    assert END - timedelta(minutes=70) < first < END - timedelta(minutes=50)
    assert END - timedelta(minutes=35) < last < END - timedelta(minutes=15)


def test_the_resolve_threshold_holds_an_alert_through_a_dip(two_bad_stretches: Function) -> None:
    # Between the stretches the error rate is 0: still two. With a dip to 0.4 only, and a
    # resolve threshold of 0.3, the alert would have held: one.
    CallBucket.objects.filter(function=two_bad_stretches, minute__gt=END - timedelta(minutes=55)).filter(
        minute__lt=END - timedelta(minutes=34)
    ).update(success=6, failure=4)
    assert preview(rule(service="payments"), now=NOW)["fired"] == 2
    assert preview(rule(service="payments", resolve_threshold=0.3), now=NOW)["fired"] == 1


def test_it_honours_the_for_duration(two_bad_stretches: Function) -> None:
    # The stretches last 15 minutes, so at least two whole 5-minute windows: a 5-minute `for`
    # lets both through, a 30-minute one neither.
    assert preview(rule(service="payments", for_seconds=300), now=NOW)["fired"] == 2
    answer = preview(rule(service="payments", for_seconds=1800), now=NOW)
    assert answer["fired"] == 0 and answer["subjects"] == []


def test_every_service_in_scope_is_counted(two_bad_stretches: Function) -> None:
    answer = preview(rule(), now=NOW)
    fired = {(s["service"], s["subject"]): s["fired"] for s in answer["subjects"]}
    # cart failed from before the day's first step: counted as firing once, then it held.
    assert fired == {("payments", "charge"): 2, ("shop", "cart"): 1}


def test_p95_latency_is_read_from_the_histograms(db: None) -> None:
    slow = function("payments", "charge")
    minutes(slow, 0, 29, success=20, ms=50)
    minutes(slow, 30, 40, success=20, ms=3000)
    minutes(slow, 41, 100, success=20, ms=50)
    answer = preview(rule(metric="p95_ms", threshold=1000, min_calls=10), now=NOW)
    assert answer["fired"] == 1 and answer["subjects"][0]["subject"] == "charge"


def test_breaker_open_time_is_rebuilt_from_its_flips(db: None) -> None:
    charge = function("payments", "charge")
    for old, new, ago in [
        ("closed", "open", 100),
        ("open", "closed", 80),
        ("closed", "open", 40),
        ("open", "closed", 38),
    ]:
        BreakerFlip.objects.create(
            function=charge, instance="a", old_state=old, new_state=new, at=END - timedelta(minutes=ago)
        )
    # Open 20 minutes, then 2: only the first is over 5 minutes.
    answer = preview(rule(metric="breaker_open_s", threshold=300, min_calls=0), now=NOW)
    assert answer["fired"] == 1 and answer["subjects"][0]["subject"] == "charge"


def test_growing_dead_letters_are_read_from_queue_snapshots(db: None) -> None:
    owner = Service.objects.create(name="mail")
    queue = Queue.objects.create(service=owner, name="email_queue")
    for ago in range(0, 300, 1):
        dead = 3 if ago > 100 else 7  # grew once, 100 minutes ago
        Snapshot.objects.create(queue=queue, at=END - timedelta(minutes=ago), depth=1, dead_letter=dead)
    answer = preview(rule(metric="dead_letter_growth", threshold=0, window_minutes=15), now=NOW)
    assert answer["fired"] == 1 and answer["subjects"][0]["subject"] == "email_queue"


def test_a_silent_reporter_is_found_from_its_stored_minutes(db: None) -> None:
    charge = function("payments", "charge")
    minutes(charge, 0, 60, success=1)
    minutes(charge, 120, 300, success=1)  # nothing for an hour in between
    answer = preview(rule(metric="reporter_silent_minutes", threshold=10, min_calls=0), now=NOW)
    assert answer["fired"] == 1 and answer["subjects"][0]["service"] == "payments"


def test_concurrency_cannot_be_replayed_and_says_so(db: None) -> None:
    answer = preview(rule(metric="concurrency_utilisation", threshold=0.9), now=NOW)
    assert answer["available"] is False and answer["fired"] == 0
    assert "cannot be replayed" in answer["message"]


def test_its_queries_do_not_grow_with_the_functions(db: None) -> None:
    def queries(count: int) -> int:
        for i in range(count):
            minutes(function("fleet", f"f{count}-{i}"), 0, 30, failure=3)
        with CaptureQueriesContext(connection) as captured:
            assert preview(rule(service="fleet"), now=NOW)["fired"] >= count
        CallBucket.objects.all().delete()
        Function.objects.all().delete()
        return len(captured.captured_queries)

    assert queries(3) == queries(40) <= 5


def test_the_api_preview_answers_the_same(people: People, two_bad_stretches: Function) -> None:
    body = {"name": "r", "metric": "error_rate", "threshold": 0.5, "min_calls": 1, "service": "payments"}
    r = people.admin.post("/api/v1/rules/preview", body)
    assert r.status_code == 200, r.content
    answer = r.json()
    assert answer["fired"] == 2 and answer["subjects"][0]["subject"] == "charge"
    assert not Rule.objects.filter(name="r").exists()  # nothing saved


def test_the_page_preview_names_the_subject(people: People, two_bad_stretches: Function) -> None:
    form = {"name": "r", "metric": "error_rate", "op": ">", "threshold": "0.5", "min_calls": "1", "service": "payments"}
    page = people.admin.client.post("/rules/preview/", form).content.decode()
    assert "Would have fired <strong>2 times</strong>" in page and "<td>charge</td>" in page


def test_too_few_calls_counts_a_function_only_from_when_it_existed(db: None) -> None:
    quiet = function("payments", "charge")
    Function.objects.filter(id=quiet.id).update(created=END - timedelta(hours=2))
    minutes(quiet, 0, 59, success=5)
    answer = preview(rule(metric="call_volume", op="<", threshold=1, min_calls=0), now=NOW)
    # No calls between its creation two hours ago and the hour it started calling: one firing,
    # not one from the day's first step.
    assert answer["fired"] == 1
    assert END - timedelta(hours=2, minutes=5) <= answer["subjects"][0]["first_at"] <= END - timedelta(minutes=55)
