"""A delivery's lease must outlast a send, or the sweep would send a delivery still under way again."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def check(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "MONITOR_VAR_DIR": str(ROOT / "var"), **env},
    )


def test_a_lease_shorter_than_twice_the_http_timeout_stops_the_site() -> None:
    done = check(MONITOR_DELIVERY_LEASE_S="45", MONITOR_HTTP_TIMEOUT_S="30")
    assert done.returncode != 0
    assert (
        "MONITOR_DELIVERY_LEASE_S (45) must be at least twice the longest outbound timeout "
        "(MONITOR_HTTP_TIMEOUT_S, EMAIL_TIMEOUT: 30 s)"
    ) in done.stderr.splitlines()[-1]


def test_a_lease_shorter_than_twice_the_smtp_timeout_stops_the_site() -> None:
    done = check(MONITOR_DELIVERY_LEASE_S="100", MONITOR_HTTP_TIMEOUT_S="5", EMAIL_TIMEOUT="60")
    assert done.returncode != 0
    assert "EMAIL_TIMEOUT: 60 s" in done.stderr


def test_a_lease_long_enough_starts() -> None:
    done = check(MONITOR_DELIVERY_LEASE_S="60", MONITOR_HTTP_TIMEOUT_S="30", EMAIL_TIMEOUT="30")
    assert done.returncode == 0, done.stderr
