"""p50/p95/p99 read from the stored histograms are within 5 % of the exact values."""

from __future__ import annotations

import math
import random

from django.contrib.auth.models import User
from django.test import Client
from pytest_django import Settings

from monitoring import histogram
from monitoring.models import CallBucket, UserToken
from tests.conftest import Reporter, call, now_iso


def exact(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def test_every_bucket_estimate_is_within_five_percent() -> None:
    for duration in [0.02, 0.5, 1, 7.3, 99.9, 812.5, 30_000, 86_400_000]:
        estimate = histogram.value_of(histogram.bucket_of(duration))
        assert abs(estimate - duration) / duration < 0.05, duration


def test_api_percentiles_match_exact_values(reporter: Reporter, client: Client, admin_user: User) -> None:
    rng = random.Random(7)
    durations = [rng.lognormvariate(4, 1.2) for _ in range(3000)] + [rng.uniform(1500, 9000) for _ in range(200)]
    ts = now_iso()  # one minute for all calls, so one series point holds them all
    for start in range(0, len(durations), 1000):
        chunk = durations[start : start + 1000]
        assert reporter.post({"calls": [call("llm", duration_ms=d, ts=ts) for d in chunk]}).status_code == 202
    _, key = UserToken.issue(user=admin_user)
    auth = {"Authorization": f"Bearer {key}"}
    function = client.get("/api/v1/functions", headers=auth).json()["items"][0]
    assert abs(function["p95_ms_5m"] - exact(durations, 0.95)) / exact(durations, 0.95) < 0.05
    points = client.get(f"/api/v1/functions/{function['id']}/series?minutes=5", headers=auth).json()["points"]
    [minute] = [p for p in points if p["calls"]]
    for q, field in [(0.5, "p50_ms"), (0.95, "p95_ms"), (0.99, "p99_ms")]:
        assert abs(minute[field] - exact(durations, q)) / exact(durations, q) < 0.05
    assert minute["max_ms"] == max(durations)
    assert minute["calls"] == len(durations)


def test_batches_for_one_minute_add_up_in_one_row(reporter: Reporter, settings: Settings) -> None:
    settings.MONITOR_BUCKET_SHARDS = 1  # every batch lands on the same row, so they must merge
    ts = now_iso()
    first, second = [10.0, 10.0, 500.0], [10.0, 2000.0]
    reporter.post({"calls": [call(duration_ms=d, ts=ts) for d in first]})
    reporter.post({"calls": [call(duration_ms=d, ts=ts, outcome="failure") for d in second]})
    bucket = CallBucket.objects.get()
    assert (bucket.success, bucket.failure, bucket.latency_max_ms, bucket.latency_sum_ms) == (3, 2, 2000, 2530)
    assert sum(bucket.histogram.values()) == 5
    # p80 and p95 tell the merged row from either batch alone.
    for q in (0.5, 0.8, 0.95):
        expected = exact(first + second, q)
        assert abs(histogram.percentile(bucket.histogram, q) - expected) / expected < 0.05, q
