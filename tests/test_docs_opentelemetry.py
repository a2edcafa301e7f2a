"""The examples in docs/opentelemetry.md: the Python one runs against the real site; the
Collector and Spring Boot configurations are read for what they must name (no Collector or
JVM runs here)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from monitoring.models import ErrorType
from tests.conftest import stored_calls

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "opentelemetry.md"
ENDPOINT = "/otlp/v1/metrics"


def examples(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", DOC.read_text(), re.M | re.S)


@pytest.mark.django_db(transaction=True)
def test_the_python_example_reports_through_the_sdk(live_site: str, token: str) -> None:
    (code,) = examples("python")
    code = code.replace("http://127.0.0.1:8000", live_site)
    done = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, "TOKEN": token}, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "Failed to export" not in done.stderr, done.stderr
    bucket = stored_calls(function__name="charge_card", function__service__name="payments")
    assert (bucket.success, bucket.failure, bucket.retries) == (1, 1, 1)
    assert bucket.latency_max_ms == pytest.approx(812.5, rel=0.05)
    assert ErrorType.objects.filter(name="CardDeclined").exists()


def test_the_collector_config_forwards_metrics_with_the_bearer_header() -> None:
    collector = yaml.safe_load(examples("yaml")[0])
    exporter = collector["exporters"]["otlphttp/monitor"]
    assert exporter["metrics_endpoint"].endswith(ENDPOINT)
    assert exporter["headers"]["Authorization"].startswith("Bearer ")
    assert exporter["encoding"] == "proto"
    assert collector["service"]["pipelines"]["metrics"]["exporters"] == ["otlphttp/monitor"]


def test_the_spring_boot_config_names_the_endpoint_the_token_and_the_service() -> None:
    spring = yaml.safe_load(examples("yaml")[1])["management"]
    export = spring["otlp"]["metrics"]["export"]
    assert export["url"].endswith(ENDPOINT)
    assert export["headers"]["Authorization"].startswith("Bearer rmi_")
    assert spring["opentelemetry"]["resource-attributes"]["service.name"] == "payments"
