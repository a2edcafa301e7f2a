"""Every environment variable the settings read is listed in .env.example, and bad values fail loudly."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def variables_read() -> set[str]:
    names = set()
    for module in (ROOT / "resilience_site").glob("*.py"):
        names |= set(re.findall(r'env(?:str|int|bool|float|secret)\("([A-Z_]+)"', module.read_text()))
        names |= set(re.findall(r'_seconds_list\("([A-Z_]+)"', module.read_text()))
    return names


def test_every_setting_is_in_env_example() -> None:
    listed = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    read = variables_read()
    assert "DATABASE_URL" in read
    assert read - listed == set()


def test_a_bad_value_stops_the_site_with_its_name() -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "MONITOR_MAX_BATCH_ITEMS": "lots", "MONITOR_VAR_DIR": str(ROOT / "var")},
    )
    assert done.returncode != 0
    assert "MONITOR_MAX_BATCH_ITEMS must be a whole number; got 'lots'" in done.stderr
