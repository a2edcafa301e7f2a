"""The real OpenTelemetry SDK exporting to the real site (`manage.py up`), read back through the API."""

from __future__ import annotations

import json
import math
import random
import time
from pathlib import Path

import pytest
from django.test import Client
from google.rpc.status_pb2 import Status
from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics.export import MetricExportResult

from monitoring.models import Function
from queues.models import Queue
from tests.browser import make_user
from tests.otlp import CUMULATIVE, Sdk, as_json, post

pytestmark = pytest.mark.django_db(transaction=True)

RESILIENCE4J = Path(__file__).parent / "data" / "resilience4j_otlp.json"


@pytest.fixture
def viewer(client: Client) -> Client:
    client.force_login(make_user("viewer"))
    return client


def series_totals(viewer: Client, function: str) -> dict:
    function_id = Function.objects.get(name=function).id
    r = viewer.get(f"/api/v1/functions/{function_id}/series?minutes=10")
    assert r.status_code == 200
    return r.json()["totals"]


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def test_sdk_protobuf_delta_gzip_reads_back_as_recorded(live_site: str, token: str, viewer: Client) -> None:
    sdk = Sdk()
    draw = random.Random(7)
    durations = [draw.lognormvariate(math.log(80), 0.6) for _ in range(400)]
    for i, duration in enumerate(durations):
        if i % 10 == 0:
            sdk.call("charge", duration, outcome="failure", **{"error.type": "CardDeclined", "retries": 1})
        else:
            sdk.call("charge", duration)
    assert sdk.export(live_site, token, gzip_it=True) == MetricExportResult.SUCCESS
    sdk.close()

    totals = series_totals(viewer, "charge")
    assert (totals["calls"], totals["failure"], totals["retries"]) == (400, 40, 40)
    for q, key in ((0.5, "p50_ms"), (0.95, "p95_ms"), (0.99, "p99_ms")):
        assert totals[key] == pytest.approx(nearest_rank(durations, q), rel=0.05), key
    assert totals["avg_ms"] == pytest.approx(sum(durations) / 400, rel=0.05)


def test_sdk_json_cumulative_counts_increments_and_a_restart(live_site: str, token: str, viewer: Client) -> None:
    first = Sdk(CUMULATIVE)
    for _ in range(5):
        first.call("refund", 40.0)
    assert post(live_site, token, as_json(first.request()), "application/json").status_code == 200
    for _ in range(3):
        first.call("refund", 40.0, outcome="timeout")
    r = post(live_site, token, as_json(first.request()), "application/json", gzip_it=True)
    assert (r.status_code, r.json()) == (200, {})
    first.close()
    restarted = Sdk(CUMULATIVE)  # the service restarted: its counters start again from zero
    restarted.call("refund", 40.0)
    assert post(live_site, token, as_json(restarted.request()), "application/json").status_code == 200
    restarted.close()

    totals = series_totals(viewer, "refund")
    assert (totals["calls"], totals["success"], totals["timeout"]) == (9, 6, 3)
    assert totals["p50_ms"] == pytest.approx(40.0, rel=0.05)


def test_sdk_gauges_show_as_breaker_and_queue(live_site: str, token: str, viewer: Client) -> None:
    sdk = Sdk(instance="checkout-1")
    for name, value, attributes in (
        ("resilience.breaker.state", 2, {"function": "charge"}),
        ("resilience.queue.depth", 120, {"queue": "email"}),
        ("resilience.queue.in_flight", 4, {"queue": "email"}),
        ("resilience.queue.dead_letter", 2, {"queue": "email"}),
        ("resilience.queue.oldest_age", 31.5, {"queue": "email"}),
    ):
        sdk.meter.create_observable_gauge(
            name, [lambda options, value=value, attributes=attributes: [Observation(value, attributes)]]
        )
    assert sdk.export(live_site, token) == MetricExportResult.SUCCESS
    sdk.close()

    charge = viewer.get("/api/v1/functions").json()["items"][0]
    assert (charge["name"], charge["breaker"]["state"], charge["breaker"]["half_open"]) == ("charge", "half_open", 1)
    queue_id = Queue.objects.get(name="email").id
    latest = next(row for row in viewer.get("/api/v1/queues").json()["items"] if row["id"] == queue_id)["latest"]
    assert (latest["depth"], latest["in_flight"], latest["dead_letter"], latest["oldest_age_s"]) == (120, 4, 2, 31.5)


def test_a_bad_token_fails_the_export_and_stores_nothing(live_site: str, db: None) -> None:
    sdk = Sdk()
    sdk.call("charge", 10.0)
    assert sdk.export(live_site, "rmi_not-a-real-token") == MetricExportResult.FAILURE
    sdk.close()
    assert not Function.objects.exists()


def shifted_to_now(document: object, by: int) -> object:
    """The fixture's times moved by `by` nanoseconds, so the export reads as just made."""
    if isinstance(document, dict):
        return {
            key: str(int(value) + by) if key in ("timeUnixNano", "startTimeUnixNano") else shifted_to_now(value, by)
            for key, value in document.items()
        }
    if isinstance(document, list):
        return [shifted_to_now(value, by) for value in document]
    return document


def test_a_resilience4j_export_shows_up_as_a_function_with_its_breaker(
    live_site: str, token: str, viewer: Client
) -> None:
    document = json.loads(RESILIENCE4J.read_text())
    by = time.time_ns() - 1764470400_000_000_000  # the fixture was made at that moment
    r = post(live_site, token, json.dumps(shifted_to_now(document, by)).encode(), "application/json")
    assert r.status_code == 200, r.text
    assert r.json()["partialSuccess"]["errorMessage"] == "ignored 1 data points of unknown metrics: jvm.threads.live"

    groq = viewer.get("/api/v1/functions").json()["items"][0]
    assert (groq["name"], groq["breaker"]["state"], groq["breaker"]["open"]) == ("invokeGroq", "open", 1)
    assert groq["breaker"]["text"].startswith("open")
    totals = series_totals(viewer, "invokeGroq")
    # Breaker calls: 42 successful, 7 failed, 12 not permitted; Retry marks 3 + 2 of them as retried.
    assert (totals["success"], totals["failure"], totals["rejected"], totals["retries"]) == (42, 7, 12, 5)
    # Micrometer's timers carry no buckets: the calls are put at their mean (sum / count).
    assert totals["max_ms"] == pytest.approx(2100.0 / 7, rel=0.05)
    concurrency = Function.objects.get(name="invokeGroq").concurrency.get()
    assert (concurrency.instance, concurrency.active, concurrency.limit) == ("checkout-7f9c", 4, 10)


def test_a_service_name_mismatch_fails_the_export_with_a_status_naming_both(live_site: str, token: str) -> None:
    sdk = Sdk(service="orders")
    sdk.call("charge", 10.0)
    r = post(live_site, token, sdk.request().SerializeToString(), "application/x-protobuf", gzip_it=True)
    assert sdk.export(live_site, token) == MetricExportResult.FAILURE
    sdk.close()
    assert (r.status_code, r.headers["Content-Type"]) == (403, "application/x-protobuf")
    status = Status.FromString(r.content)  # google.rpc.Status, as OTLP/HTTP requires
    assert status.code == 7  # PERMISSION_DENIED
    assert status.message == 'service.name: is "orders" but the token is for service "payments"'
    assert not Function.objects.exists()
