"""Every answer of POST /otlp/v1/metrics, in the request's encoding, and what each stores."""

from __future__ import annotations

import gzip
import math
import random
import time
from collections.abc import Callable, Iterator

import orjson
import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from opentelemetry.metrics import Observation
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation
from pytest_django import Settings

from alerts.models import Alert, Channel
from monitoring.models import Breaker, CallBucket, Function, IngestToken, Refusal
from queues.models import Snapshot
from tests.alert_fixtures import make_rule
from tests.conftest import stored_calls
from tests.otlp import CUMULATIVE, Sdk, as_json

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


@pytest.fixture
def sdk() -> Iterator[Sdk]:
    made = Sdk()
    yield made
    made.close()


def send(client: Client, token: str, body: bytes, content_type: str = PROTOBUF, **headers: str) -> object:
    return client.post(
        "/otlp/v1/metrics", body, content_type=content_type, headers={"Authorization": f"Bearer {token}", **headers}
    )


def answer_of(response: object) -> ExportMetricsServiceResponse:
    assert response["Content-Type"] == PROTOBUF
    return ExportMetricsServiceResponse.FromString(response.content)


def test_it_stores_protobuf_calls_and_answers_in_protobuf(client: Client, token: str, sdk: Sdk) -> None:
    sdk.call("charge", 12.0)
    sdk.call("charge", 30.0, outcome="failure", **{"error.type": "CardDeclined", "retries": 2})
    r = send(client, token, sdk.request().SerializeToString())
    assert r.status_code == 200, r.content
    assert not answer_of(r).HasField("partial_success")
    bucket = stored_calls(function__name="charge")
    assert (bucket.success, bucket.failure, bucket.retries) == (1, 1, 2)
    assert bucket.latency_max_ms == pytest.approx(30.0, rel=0.05)


def test_it_takes_json_and_gzip_and_answers_in_json(client: Client, token: str, sdk: Sdk) -> None:
    sdk.call("refund", 5.0, outcome="timeout")
    r = send(client, token, gzip.compress(as_json(sdk.request())), JSON, Content_Encoding="gzip")
    assert r.status_code == 200, r.content
    assert r["Content-Type"] == JSON
    assert r.json() == {}
    assert stored_calls(function__name="refund").timeout == 1


def test_it_refuses_a_bad_token_with_a_status_in_protobuf(client: Client, db: None, sdk: Sdk) -> None:
    sdk.call("charge", 12.0)
    r = send(client, "rmi_not-a-real-token", sdk.request().SerializeToString())
    assert r.status_code == 401
    assert r["Content-Type"] == PROTOBUF
    assert b"ingest token" in r.content  # google.rpc.Status: its message is readable
    assert not Function.objects.exists()


def test_it_refuses_a_revoked_token_in_json(client: Client, token: str, sdk: Sdk) -> None:
    IngestToken.objects.get().revoke()
    sdk.call("charge", 12.0)
    r = send(client, token, as_json(sdk.request()), JSON)
    assert r.status_code == 401
    assert r.json()["code"] == 16  # UNAUTHENTICATED


def test_a_service_name_that_is_not_the_tokens_is_refused_naming_both(client: Client, token: str) -> None:
    other = Sdk(service="orders")
    other.call("charge", 12.0)
    r = send(client, token, as_json(other.request()), JSON)
    other.close()
    assert r.status_code == 403
    assert r.json()["detail"] == 'service.name: is "orders" but the token is for service "payments"'
    assert not Function.objects.exists()
    assert Refusal.objects.get().reason == "invalid"


def test_unknown_metrics_are_ignored_and_counted_in_the_answer(client: Client, token: str, sdk: Sdk) -> None:
    sdk.call("charge", 12.0)
    requests = sdk.meter.create_counter("http.server.requests")
    requests.add(3, {"route": "/a"})
    requests.add(1, {"route": "/b"})
    r = send(client, token, sdk.request().SerializeToString())
    assert r.status_code == 200
    partial = answer_of(r).partial_success
    assert partial.rejected_data_points == 0  # a warning, not an error
    assert partial.error_message == "ignored 2 data points of unknown metrics: http.server.requests"
    assert stored_calls(function__name="charge").calls == 1


def test_bad_points_are_rejected_the_otlp_way_and_the_rest_stored(client: Client, token: str, sdk: Sdk) -> None:
    sdk.call("charge", 12.0)
    sdk.call("charge", 12.0, outcome="exploded")
    sdk.duration.record(4.0, {"outcome": "success"})  # no function
    r = send(client, token, as_json(sdk.request()), JSON)
    assert r.status_code == 200
    partial = r.json()["partialSuccess"]
    assert partial["rejectedDataPoints"] == "2"  # int64 in OTLP JSON: a string
    assert 'outcome "exploded" is not one of success, failure, timeout, rejected' in partial["errorMessage"]
    assert "attribute function is missing" in partial["errorMessage"]
    assert stored_calls(function__name="charge").calls == 1


def test_gauges_become_breakers_concurrency_and_queues(client: Client, token: str, sdk: Sdk) -> None:
    def observe(name: str, value: float, **attributes: str) -> None:
        sdk.meter.create_observable_gauge(name, [lambda options: [Observation(value, attributes)]])

    observe("resilience.breaker.state", 1, function="charge")
    observe("resilience.concurrency.active", 3, function="charge")
    observe("resilience.concurrency.limit", 10, function="charge")
    observe("resilience.queue.depth", 120, queue="email")
    observe("resilience.queue.dead_letter", 2, queue="email")
    sdk.meter.create_observable_gauge(
        "resilience.queue.oldest_age", [lambda options: [Observation(31500, {"queue": "email"})]], unit="ms"
    )
    r = send(client, token, sdk.request().SerializeToString())
    assert r.status_code == 200, r.content
    breaker = Breaker.objects.get(function__name="charge")
    assert (breaker.state, breaker.instance) == ("open", "pod-1")
    concurrency = Function.objects.get(name="charge").concurrency.get()
    assert (concurrency.active, concurrency.limit, concurrency.queued) == (3, 10, 0)
    snapshot = Snapshot.objects.get()
    assert (snapshot.depth, snapshot.dead_letter, snapshot.oldest_age_s) == (120, 2, 31.5)


def test_a_cumulative_histogram_counts_each_call_once_and_a_restart_from_zero(client: Client, token: str) -> None:
    first = Sdk(CUMULATIVE)
    for _ in range(3):
        first.call("charge", 10.0)
    assert send(client, token, first.request().SerializeToString()).status_code == 200
    first.call("charge", 10.0)
    assert send(client, token, first.request().SerializeToString()).status_code == 200
    assert send(client, token, first.request().SerializeToString()).status_code == 200  # nothing new
    assert stored_calls(function__name="charge").calls == 4
    first.close()
    restarted = Sdk(CUMULATIVE)  # a new process: a new start time, counts from zero
    restarted.call("charge", 10.0, outcome="failure")
    assert send(client, token, restarted.request().SerializeToString()).status_code == 200
    restarted.close()
    bucket = stored_calls(function__name="charge")
    assert (bucket.success, bucket.failure) == (4, 1)


def test_an_idempotency_key_makes_a_replay_count_nothing(client: Client, token: str, sdk: Sdk) -> None:
    sdk.call("charge", 12.0)
    body = sdk.request().SerializeToString()
    assert not answer_of(send(client, token, body, Idempotency_Key="export-1")).HasField("partial_success")
    again = answer_of(send(client, token, body, Idempotency_Key="export-1"))
    assert again.partial_success.error_message == "a replay of a request already stored; nothing counted"
    assert stored_calls(function__name="charge").calls == 1


def test_the_same_limits_as_the_json_ingest(client: Client, token: str, sdk: Sdk, settings: Settings) -> None:
    settings.MONITOR_MAX_BATCH_ITEMS = 5
    for function in range(6):
        sdk.call(f"charge-{function}", 12.0)
    r = send(client, token, as_json(sdk.request()), JSON)
    assert r.status_code == 413
    assert r.json()["detail"] == "request carries 6 items; the limit is 5"
    assert not CallBucket.objects.exists()
    settings.MONITOR_MAX_BODY_BYTES = 100
    r = send(client, token, gzip.compress(b"{" + b" " * 5000 + b"}"), JSON, Content_Encoding="gzip")
    assert r.status_code == 413
    assert "once unzipped" in r.json()["detail"]


def test_it_refuses_what_it_cannot_read(client: Client, token: str) -> None:
    assert send(client, token, b"\xff\xff\xff", PROTOBUF).status_code == 400
    assert send(client, token, b"[1, 2", JSON).status_code == 400
    assert send(client, token, b"{}", "text/plain").status_code == 415
    assert send(client, token, b"{}", JSON, Content_Encoding="br").status_code == 415
    assert orjson.loads(send(client, token, b"{}", JSON).content) == {}  # an empty export is fine


def test_a_long_running_streams_first_total_only_sets_the_baseline(client: Client, token: str) -> None:
    sdk = Sdk(CUMULATIVE)
    for _ in range(50):
        sdk.call("charge", 10.0)
    request = sdk.request()
    hour_ago = time.time_ns() - 3600 * 10**9
    for point in request.resource_metrics[0].scope_metrics[0].metrics[0].histogram.data_points:
        point.start_time_unix_nano = hour_ago  # the process has been up an hour: 50 calls in that hour
    assert send(client, token, request.SerializeToString()).status_code == 200
    assert not CallBucket.objects.exists()
    sdk.call("charge", 10.0)
    later = sdk.request()
    for point in later.resource_metrics[0].scope_metrics[0].metrics[0].histogram.data_points:
        point.start_time_unix_nano = hour_ago
    assert send(client, token, later.SerializeToString()).status_code == 200
    sdk.close()
    assert stored_calls(function__name="charge").calls == 1


def test_two_exports_of_a_cumulative_stream_in_one_request_count_once(client: Client, token: str) -> None:
    sdk = Sdk(CUMULATIVE)
    sdk.call("charge", 10.0)
    earlier = sdk.request()
    sdk.call("charge", 10.0)
    sdk.call("charge", 10.0)
    both = sdk.request()
    sdk.close()
    both.resource_metrics.extend(earlier.resource_metrics)  # as a Collector batching two exports
    assert send(client, token, both.SerializeToString()).status_code == 200
    assert stored_calls(function__name="charge").calls == 3


def test_exponential_histograms_keep_percentiles_within_five_percent(client: Client, token: str) -> None:
    sdk = Sdk(aggregation=ExponentialBucketHistogramAggregation())
    draw = random.Random(3)
    durations = [draw.lognormvariate(math.log(200), 0.8) for _ in range(300)]
    for duration in durations:
        sdk.call("charge", duration)
    assert send(client, token, sdk.request().SerializeToString()).status_code == 200
    sdk.close()
    bucket = stored_calls(function__name="charge")
    ordered = sorted(durations)
    for q in (0.5, 0.95, 0.99):
        exact = ordered[math.ceil(q * len(ordered)) - 1]
        assert bucket.percentile(q) == pytest.approx(exact, rel=0.05), q


def test_over_the_tokens_rate_is_429_with_retry_after(client: Client, token: str, settings: Settings) -> None:
    settings.MONITOR_MAX_REQUESTS_PER_MINUTE = 1
    cache.clear()
    sdk = Sdk()
    # Both in one rate window: the clock held mid-minute, so no minute turns between them.
    with time_machine.travel(timezone.now().replace(second=30, microsecond=0), tick=False):
        sdk.call("charge", 10.0)
        assert send(client, token, sdk.request().SerializeToString()).status_code == 200
        sdk.call("charge", 10.0)
        r = send(client, token, sdk.request().SerializeToString())
    sdk.close()
    assert r.status_code == 429
    assert int(r["Retry-After"]) >= 1
    assert stored_calls(function__name="charge").calls == 1
    assert Refusal.objects.get().reason == "rate"


def test_a_key_reused_for_other_points_is_409(client: Client, token: str, sdk: Sdk) -> None:
    sdk.call("charge", 10.0)
    assert send(client, token, sdk.request().SerializeToString(), Idempotency_Key="k").status_code == 200
    sdk.call("refund", 10.0)
    r = send(client, token, as_json(sdk.request()), JSON, Idempotency_Key="k")
    assert r.status_code == 409
    assert r.json()["field"] == "Idempotency-Key"
    assert not Function.objects.filter(name="refund").exists()


def test_a_function_over_the_cap_is_refused_naming_the_limit(client: Client, token: str, settings: Settings) -> None:
    settings.MONITOR_MAX_FUNCTIONS_PER_SERVICE = 1
    sdk = Sdk()
    sdk.call("charge", 10.0)
    sdk.call("refund", 10.0)
    r = send(client, token, as_json(sdk.request()), JSON)
    sdk.close()
    assert r.status_code == 422
    assert r.json()["detail"] == "service payments has reached its limit of 1 functions"
    assert not Function.objects.exists()


def test_a_cumulative_exponential_histogram_that_rescales_counts_each_call_once(client: Client, token: str) -> None:
    sdk = Sdk(CUMULATIVE, aggregation=ExponentialBucketHistogramAggregation())
    for duration in (100.0, 101.0, 102.0):
        sdk.call("charge", duration)
    first = sdk.request()
    assert send(client, token, first.SerializeToString()).status_code == 200
    for duration in (0.5, 20_000.0):
        sdk.call("charge", duration)
    second = sdk.request()
    sdk.close()
    scales = [
        r.resource_metrics[0].scope_metrics[0].metrics[0].exponential_histogram.data_points[0].scale
        for r in (first, second)
    ]
    assert scales[0] != scales[1]  # the range grew: the buckets moved
    assert send(client, token, second.SerializeToString()).status_code == 200
    bucket = stored_calls(function__name="charge")
    assert bucket.calls == 5
    # The 2 calls since the first point are put at their mean: the totals still add up.
    assert bucket.latency_sum_ms == pytest.approx(100.0 + 101.0 + 102.0 + 0.5 + 20_000.0, rel=0.05)


def test_a_breaker_opening_over_otlp_fires_its_rule_at_once(
    client: Client, token: str, sdk: Sdk, log_channel: Channel, django_capture_on_commit_callbacks: Callable
) -> None:
    make_rule(log_channel, name="breaker open", metric="breaker_open_s", op=">", threshold=0, min_calls=0)
    sdk.meter.create_observable_gauge(
        "resilience.breaker.state", [lambda options: [Observation(1, {"function": "charge"})]]
    )
    request = sdk.request()
    gauge = request.resource_metrics[0].scope_metrics[0].metrics[0].gauge
    gauge.data_points[0].time_unix_nano -= 2 * 10**9  # opened two seconds ago
    with django_capture_on_commit_callbacks(execute=True):
        assert send(client, token, request.SerializeToString()).status_code == 200
    alert = Alert.objects.get()  # no evaluation round ran: the ingest hook did it
    assert (alert.subject, alert.metric, alert.state) == ("charge", "breaker_open_s", "firing")


def test_numbers_that_are_not_numbers_are_rejected_points_not_errors(client: Client, token: str, sdk: Sdk) -> None:
    sdk.call("charge", 10.0)
    sdk.meter.create_observable_gauge("resilience.queue.depth", [lambda options: [Observation(3, {"queue": "a"})]])
    request = sdk.request()
    metrics = request.resource_metrics[0].scope_metrics[0].metrics
    histogram = next(metric for metric in metrics if metric.name == "resilience.call.duration")
    extra = histogram.histogram.data_points.add()
    extra.CopyFrom(histogram.histogram.data_points[0])
    extra.sum = math.nan
    depth = next(metric for metric in metrics if metric.name == "resilience.queue.depth")
    depth.gauge.data_points.add().CopyFrom(depth.gauge.data_points[0])
    depth.gauge.data_points[1].as_int = -1
    r = send(client, token, as_json(request), JSON)
    assert r.status_code == 200, r.content
    assert r.json()["partialSuccess"]["rejectedDataPoints"] == "2"
    assert stored_calls(function__name="charge").calls == 1
    assert Snapshot.objects.get().depth == 3
