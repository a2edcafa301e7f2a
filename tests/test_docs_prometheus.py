"""The examples in docs/prometheus.md, run against the real site: the shell commands, and the
scrape config loaded by a real Prometheus that scrapes the site and answers the doc's queries."""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.browser import join
from tests.conftest import Reporter, call
from tests.docs import shell_blocks
from tests.servers import find_binary, free_port, missing, stop, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "prometheus.md"


def fenced(language: str) -> str:
    return re.search(rf"^```{language}\n(.*?)^```", DOC.read_text(), re.M | re.S).group(1)


@pytest.mark.django_db(transaction=True)
def test_the_shell_example_works(live_site: str, subprocess_env: dict[str, str]) -> None:
    User.objects.create_user("admin", is_superuser=True, is_staff=True)
    (block,) = shell_blocks(DOC)
    script = block.body.replace("http://127.0.0.1:8000", live_site)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], env=subprocess_env, cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "# TYPE resilience_calls_total counter"


def query(port: int, promql: str) -> dict:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.load(answer)


@pytest.mark.django_db(transaction=True)
def test_a_real_prometheus_scrapes_the_site_with_the_docs_config(live_site: str, token: str) -> None:
    prometheus, promtool = find_binary("prometheus"), find_binary("promtool")
    if prometheus is None or promtool is None:
        missing("prometheus is not installed (Debian package prometheus)")
    Reporter(Client(), token).post({"calls": [call("charge")] * 3 + [call("charge", "failure", duration_ms=300.0)]})
    from monitoring.models import UserToken

    # A token's scrape holds its person's projects: this one's is the default, the service's.
    scraper = join(User.objects.create_user("scraper"), "viewer").user
    raw = UserToken.issue(user=scraper, scope="metrics:read")[1]
    with tempfile.TemporaryDirectory(prefix="prometheus-") as workdir:
        token_file = Path(workdir) / "monitor.token"
        token_file.write_text(raw)
        config = (
            fenced("yaml")
            .replace("/etc/prometheus/monitor.token", str(token_file))
            .replace("127.0.0.1:8000", live_site.removeprefix("http://"))
            .replace("30s", "1s")
        )
        (Path(workdir) / "prometheus.yml").write_text(config)
        checked = subprocess.run([promtool, "check", "config", f"{workdir}/prometheus.yml"], capture_output=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr

        port = free_port()
        server = subprocess.Popen(
            [
                prometheus,
                f"--config.file={workdir}/prometheus.yml",
                f"--storage.tsdb.path={workdir}/data",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port, server, timeout=30)
            deadline = time.monotonic() + 30
            found: dict = {"data": {"result": []}}
            while time.monotonic() < deadline and not found["data"]["result"]:
                time.sleep(0.5)
                try:
                    found = query(port, 'resilience_calls_total{function="charge"}')
                except urllib.error.HTTPError as error:
                    assert error.code == 503  # still starting

            values = {r["metric"]["outcome"]: r["value"][1] for r in found["data"]["result"]}
            assert values == {"success": "3", "failure": "1", "timeout": "0", "rejected": "0"}
            assert query(port, 'up{job="resilience-monitor"}')["data"]["result"][0]["value"][1] == "1"
            for promql in fenced("promql").split("\nhistogram_quantile"):
                expression = promql if promql.startswith("sum") else "histogram_quantile" + promql
                assert query(port, expression)["status"] == "success", expression
        finally:
            stop(server)
