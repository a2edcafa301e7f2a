"""The real OpenTelemetry SDK, measuring into a reader the tests collect from and export by hand.

Collecting by hand (InMemoryMetricReader) lets a test choose the moment of each export and
send the very points the SDK made: with the SDK's own OTLP/HTTP exporter (protobuf), or as
OTLP's JSON mapping of the SDK's encoded request (the Python exporter has no JSON mode).
"""

from __future__ import annotations

import gzip

import httpx
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common._internal.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    MeterProvider,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader, MetricExportResult
from opentelemetry.sdk.metrics.view import Aggregation, ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource

DELTA = AggregationTemporality.DELTA
CUMULATIVE = AggregationTemporality.CUMULATIVE
# Bounds 4 % apart from 0.1 ms to about 70 s: fine enough for the percentile promise.
FINE_BOUNDS = [round(0.1 * 1.04**i, 6) for i in range(345)]


class Sdk:
    """One process's MeterProvider: its resource, its temporality, a reader collected by hand."""

    def __init__(
        self,
        temporality: AggregationTemporality = DELTA,
        service: str = "payments",
        instance: str = "pod-1",
        aggregation: Aggregation | None = None,
    ) -> None:
        kinds = (Counter, UpDownCounter, Histogram, ObservableCounter, ObservableUpDownCounter, ObservableGauge)
        self.reader = InMemoryMetricReader(preferred_temporality=dict.fromkeys(kinds, temporality))
        resource = Resource.create({"service.name": service, "service.instance.id": instance})
        aggregation = aggregation or ExplicitBucketHistogramAggregation(FINE_BOUNDS)
        view = View(instrument_name="resilience.call.duration", aggregation=aggregation)
        self.provider = MeterProvider(resource=resource, metric_readers=[self.reader], views=[view])
        self.meter = self.provider.get_meter("checkout")
        self.duration = self.meter.create_histogram("resilience.call.duration", unit="ms")

    def call(self, function: str, duration_ms: float, outcome: str = "success", **attributes: object) -> None:
        self.duration.record(duration_ms, {"function": function, "outcome": outcome, **attributes})

    def request(self) -> ExportMetricsServiceRequest:
        return encode_metrics(self.reader.get_metrics_data())

    def export(self, site: str, token: str, gzip_it: bool = False) -> MetricExportResult:
        """Collect and send with the SDK's own OTLP/HTTP exporter (protobuf)."""
        exporter = OTLPMetricExporter(
            endpoint=f"{site}/otlp/v1/metrics",
            headers={"Authorization": f"Bearer {token}"},
            compression=Compression.Gzip if gzip_it else Compression.NoCompression,
            timeout=10,
        )
        try:
            return exporter.export(self.reader.get_metrics_data())
        finally:
            exporter.shutdown()

    def close(self) -> None:
        self.provider.shutdown()


def as_json(request: ExportMetricsServiceRequest) -> bytes:
    """OTLP's JSON mapping: lowerCamelCase names, 64-bit integers as strings, enums as numbers."""
    return json_format.MessageToJson(request, use_integers_for_enums=True).encode()


def post(
    site: str, token: str, body: bytes, content_type: str, gzip_it: bool = False, **headers: str
) -> httpx.Response:
    sent = {"Authorization": f"Bearer {token}", "Content-Type": content_type, **headers}
    if gzip_it:
        body = gzip.compress(body)
        sent["Content-Encoding"] = "gzip"
    return httpx.post(f"{site}/otlp/v1/metrics", content=body, headers=sent, timeout=10)
