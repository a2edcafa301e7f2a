"""The README's quick start, run as written (on a free port, with the demo off)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
from pathlib import Path

from tests.docs import shell_blocks
from tests.servers import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
CUT = "=====cut====="


def test_the_quick_start_works_as_written() -> None:
    port = free_port()
    blocks = [b for b in shell_blocks(ROOT / "README.md") if b.kind in ("run", "background")]
    start, *steps = blocks
    assert start.lines() == ["make run"]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "TEST_DB")}
    env.update({"PORT": str(port), "DEMO": "0", "MONITOR_VAR_DIR": tempfile.mkdtemp(prefix="monitor-readme-")})
    site = subprocess.Popen(
        ["bash", "-c", start.body],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_port(port, site, timeout=120)
        # One shell for all steps, as in the newcomer's second terminal: variables carry over.
        script = f"\necho {CUT}\n".join(step.body for step in steps).replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        answers = [answer for answer in done.stdout.split(CUT) if answer.strip()]
    finally:
        os.killpg(site.pid, signal.SIGTERM)
        output = site.communicate(timeout=30)[0]
    assert "Created the admin login" in output
    assert json.loads(answers[0]) == {
        "accepted": {"calls": 2, "breakers": 1, "concurrency": 0, "queues": 0},
        "duplicate": False,
    }
    [function] = json.loads(answers[1])["items"]
    assert (function["name"], function["calls_5m"], function["breaker"]["state"]) == ("charge_card", 2, "open")
