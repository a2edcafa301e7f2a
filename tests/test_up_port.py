"""`manage.py up` (make run) on a port already taken says so in one line, before starting anything."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_it_stops_before_announcing_or_starting_anything(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as holder:
        port = holder.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "manage.py", "up", "--port", str(port)],
            cwd=ROOT,
            env={"PATH": "/usr/bin:/bin", "MONITOR_VAR_DIR": str(tmp_path), "DEMO": "1"},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode != 0
    assert done.stderr.splitlines() == [
        f"CommandError: port {port} is taken; set PORT to a free one, e.g. PORT={port + 1} make run"
    ]
    assert done.stdout == ""  # neither "Resilience Monitor on ..." nor "Demo reporter running"
    assert not (tmp_path / "demo_tokens.json").exists()
