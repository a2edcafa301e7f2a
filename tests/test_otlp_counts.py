"""A histogram point is one item of the batch limit, whatever its count: its calls are stored
as counted calls, never one by one."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2
from pytest_django import Settings

from monitoring.models import CallBucket, Function
from monitoring.outcomes import recent_outcomes
from tests.conftest import stored_calls
from tests.monitor_api import MonitorApi, viewer_api

PROTOBUF = "application/x-protobuf"
BOUNDS = [10.0, 20.0, 50.0, 100.0, 200.0]


@pytest.fixture
def api(db: None) -> MonitorApi:
    return viewer_api(Client())


def one_point(counts: list[int], total_ms: float, **attributes: str) -> bytes:
    """An export request holding one delta histogram point of resilience.call.duration (ms)."""
    request = ExportMetricsServiceRequest()
    resource = request.resource_metrics.add()
    resource.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value="payments")))
    metric = resource.scope_metrics.add().metrics.add(name="resilience.call.duration", unit="ms")
    metric.histogram.aggregation_temporality = metrics_pb2.AGGREGATION_TEMPORALITY_DELTA
    now = time.time_ns()
    point = metric.histogram.data_points.add(
        start_time_unix_nano=now - 60 * 10**9,
        time_unix_nano=now,
        count=sum(counts),
        sum=total_ms,
        explicit_bounds=BOUNDS,
        bucket_counts=counts,
    )
    for key, value in {"function": "charge", **attributes}.items():
        point.attributes.append(KeyValue(key=key, value=AnyValue(string_value=value)))
    return request.SerializeToString()


def send(client: Client, token: str, body: bytes) -> object:
    return client.post("/otlp/v1/metrics", body, content_type=PROTOBUF, headers={"Authorization": f"Bearer {token}"})


def test_it_accepts_a_point_of_100000_calls_and_reads_them_back(
    client: Client, token: str, api: MonitorApi, settings: Settings
) -> None:
    settings.MONITOR_MAX_BATCH_ITEMS = 5000
    # 100,000 calls: 90,000 between 20 and 50 ms, 10,000 between 100 and 200 ms.
    body = one_point([0, 0, 90_000, 0, 10_000, 0], 90_000 * 32.0 + 10_000 * 141.0)
    r = send(client, token, body)
    assert r.status_code == 200, r.content
    totals = api.totals("charge")
    assert (totals["calls"], totals["success"]) == (100_000, 100_000)
    bucket = stored_calls(function__name="charge")
    assert 20.0 <= bucket.percentile(0.5) <= 50.0 * 1.05
    assert 100.0 <= bucket.percentile(0.95) <= 200.0 * 1.05
    # Spread over a few latencies, not 100,000 of them: one row, a small histogram.
    assert CallBucket.objects.count() == 1
    assert len(bucket.histogram) <= 64


def test_a_large_failing_point_counts_every_error_and_fills_the_strip(
    client: Client, token: str, api: MonitorApi
) -> None:
    body = one_point([0, 0, 0, 7_000, 0, 0], 7_000 * 70.0, outcome="failure", **{"error.type": "Timeout"})
    assert send(client, token, body).status_code == 200
    assert api.totals("charge")["failure"] == 7_000
    assert api.errors("charge") == {"Timeout": 7_000}
    charge_id = Function.objects.get(name="charge").id
    assert recent_outcomes([charge_id])[charge_id] == ["failure"] * 20  # the last 20: this point's failures


def test_points_still_count_as_items_toward_the_limit(client: Client, token: str, settings: Settings) -> None:
    settings.MONITOR_MAX_BATCH_ITEMS = 1
    request = ExportMetricsServiceRequest.FromString(one_point([0, 5, 0, 0, 0, 0], 75.0))
    points = request.resource_metrics[0].scope_metrics[0].metrics[0].histogram.data_points
    points.add().CopyFrom(points[0])
    points[1].attributes[0].value.string_value = "refund"
    r = send(client, token, request.SerializeToString())
    assert r.status_code == 413
    assert not CallBucket.objects.exists()
