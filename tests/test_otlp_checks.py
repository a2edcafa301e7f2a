"""The checks the OTLP path makes on each point itself (its calls are not validated a second
time), and what it keeps per process between requests (attributes read, bucket edges)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from django.test import Client
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from monitoring import histogram
from monitoring.models import CallBucket
from resilience_site import otlp_map
from tests.conftest import stored_calls
from tests.otlp import Sdk

PROTOBUF = "application/x-protobuf"


@pytest.fixture
def sdk() -> Iterator[Sdk]:
    made = Sdk()
    yield made
    made.close()


def send(client: Client, token: str, request: ExportMetricsServiceRequest) -> object:
    return client.post(
        "/otlp/v1/metrics",
        request.SerializeToString(),
        content_type=PROTOBUF,
        headers={"Authorization": f"Bearer {token}"},
    )


def points_of(request: ExportMetricsServiceRequest) -> object:
    return request.resource_metrics[0].scope_metrics[0].metrics[0].histogram.data_points


def latencies(function: str) -> list[float]:
    """A function's stored latencies as the histogram reads them back (within 2.5 %), in ms."""
    return [histogram.value_of(int(key)) for key in stored_calls(function__name=function).histogram]


def test_a_not_a_number_bucket_bound_holding_calls_is_refused_as_before(client: Client, token: str, sdk: Sdk) -> None:
    sdk.call("charge", 12.0)
    request = sdk.request()
    point = points_of(request)[0]
    filled = next(i for i, count in enumerate(point.bucket_counts) if count)
    point.explicit_bounds[filled] = math.nan  # the upper bound of the bucket holding the call
    point.ClearField("min")
    point.ClearField("max")
    r = send(client, token, request)
    assert r.status_code == 422
    assert "finite number" in r.content.decode()
    assert not CallBucket.objects.exists()


def test_retries_that_are_not_a_whole_number_reject_their_point_only(client: Client, token: str, sdk: Sdk) -> None:
    sdk.call("charge", 12.0, retries=True)
    sdk.call("charge", 13.0, retries="²")  # a digit to str.isdigit(), not to int()
    sdk.call("refund", 14.0, retries="2")
    r = send(client, token, sdk.request())
    assert r.status_code == 200, r.content
    answer = ExportMetricsServiceResponse.FromString(r.content)
    assert answer.partial_success.rejected_data_points == 2
    assert "attribute retries must be a whole number from 0 to 1000" in answer.partial_success.error_message
    assert not CallBucket.objects.filter(function__name="charge").exists()
    assert (stored_calls(function__name="refund").calls, stored_calls(function__name="refund").retries) == (1, 2)


def test_points_of_one_metric_with_their_own_bounds_each_keep_theirs(client: Client, token: str, sdk: Sdk) -> None:
    sdk.call("charge", 15.0)
    sdk.call("refund", 15.0)
    request = sdk.request()
    for point in points_of(request):
        # One bucket (10, 20] ms for charge, (100, 200] ms for refund: each call spread in its own.
        charge = any(pair.value.string_value == "charge" for pair in point.attributes)
        bounds = [10.0, 20.0] if charge else [100.0, 200.0]
        point.explicit_bounds[:] = bounds
        point.bucket_counts[:] = [0, 1, 0]
        point.sum = sum(bounds) / 2
        point.ClearField("min")
        point.ClearField("max")
    for _ in range(2):  # the second time from what the process kept
        CallBucket.objects.all().delete()
        assert send(client, token, request).status_code == 200
        assert [10.0 / 1.03 <= latency <= 20.0 * 1.03 for latency in latencies("charge")] == [True]
        assert [100.0 / 1.03 <= latency <= 200.0 * 1.03 for latency in latencies("refund")] == [True]


def pair(key: str, **value: object) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(**value))


def test_attributes_kept_per_process_are_told_apart_by_value_and_type() -> None:
    as_text = [pair("function", string_value="charge"), pair("retries", string_value="1")]
    as_number = [pair("function", string_value="charge"), pair("retries", int_value=1)]
    other = [pair("function", string_value="refund"), pair("retries", int_value=1)]
    for _ in range(2):
        assert otlp_map.attributes(as_text) == {"function": "charge", "retries": "1"}
        assert otlp_map.attributes(as_number) == {"function": "charge", "retries": 1}
        assert otlp_map.attributes(other) == {"function": "refund", "retries": 1}
