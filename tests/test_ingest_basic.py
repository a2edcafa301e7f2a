from __future__ import annotations

from monitoring.models import CallBucket, Function
from tests.conftest import Reporter, call


def test_it_accepts_a_batch_and_counts_calls(reporter: Reporter) -> None:
    r = reporter.post({"calls": [call(), call(outcome="failure", error_type="Timeout")]})
    assert r.status_code == 202, r.content
    assert r.json() == {"accepted": {"calls": 2, "breakers": 0, "concurrency": 0, "queues": 0}, "duplicate": False}
    bucket = CallBucket.objects.get(function__name="charge")
    assert (bucket.success, bucket.failure) == (1, 1)
    assert Function.objects.get().recent_outcomes == "sf"
