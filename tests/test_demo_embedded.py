from __future__ import annotations

import json
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from monitoring.models import CallBucket, IngestToken, Service
from resilience_site.demo import SERVICE_NAMES, embedded_tokens
from tests.conftest import ROOT
from tests.servers import free_port, stop, wait_for_port


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return False


def reporting_services() -> set[str]:
    return set(CallBucket.objects.values_list("function__service__name", flat=True))


@pytest.mark.django_db(transaction=True)
def test_it_runs_the_demo_inside_the_site_unless_turned_off(subprocess_env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "up.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "up", "--port", str(port), "--no-scheduler"],
            cwd=ROOT,
            env={**subprocess_env, "DEMO": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, process, timeout=30)
        assert wait_for(lambda: reporting_services() == set(SERVICE_NAMES), timeout=20), reporting_services()
    finally:
        stop(process)
    assert "DEMO=0" in log.read_text()
    tokens_file = Path(subprocess_env["MONITOR_VAR_DIR"]) / "demo_tokens.json"
    assert stat.S_IMODE(tokens_file.stat().st_mode) == 0o600
    assert set(json.loads(tokens_file.read_text())) == set(SERVICE_NAMES)


@pytest.mark.django_db(transaction=True)
def test_it_stays_quiet_with_no_demo(subprocess_env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "up", "--port", str(port), "--no-scheduler", "--no-demo"],
        cwd=ROOT,
        env={**subprocess_env, "DEMO": "1"},
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process, timeout=30)
        time.sleep(3)
    finally:
        stop(process)
    assert not Service.objects.exists()
    assert not CallBucket.objects.exists()


@pytest.mark.django_db
def test_it_reuses_saved_demo_tokens_while_they_stay_valid(tmp_path: Path) -> None:
    path = str(tmp_path / "demo_tokens.json")
    first = embedded_tokens(path)
    assert embedded_tokens(path) == first
    assert IngestToken.objects.count() == 3

    IngestToken.find(first["payments"]).revoke()
    again = embedded_tokens(path)
    assert again["payments"] != first["payments"]
    assert again["notifications"] == first["notifications"]
    assert IngestToken.find(again["payments"]).service.name == "payments"
