"""A configuration error stops every entry point with one line naming the setting, not a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs import shell_blocks
from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {"DATABASE_URL": "postgres://monitor:hunter2@127.0.0.1:5432/monitor", "SECRET_KEY": "x" * 50}


def run(command: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "MONITOR_VAR_DIR": str(tmp_path / "var"), **env}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def manage_check(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    return run([sys.executable, "manage.py", "check"], env, tmp_path)


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {"DATABASE_URL": PRODUCTION["DATABASE_URL"]},
            "Configuration error: SECRET_KEY (or SECRET_KEY_FILE) must be set in production (DATABASE_URL set, "
            'DEBUG off); make one with: python -c "import secrets; print(secrets.token_urlsafe(50))"',
        ),
        (
            {"MONITOR_MAX_BATCH_ITEMS": "lots"},
            "Configuration error: MONITOR_MAX_BATCH_ITEMS must be a whole number; got 'lots'",
        ),
        (
            {"MONITOR_HTTP_TIMEOUT_S": "soon"},
            "Configuration error: MONITOR_HTTP_TIMEOUT_S must be a number; got 'soon'",
        ),
        (
            {"DEBUG": "maybe"},
            "Configuration error: DEBUG must be one of 1/0, true/false, yes/no, on/off; got 'maybe'",
        ),
        (
            {**PRODUCTION, "DATABASE_URL": "mysql://monitor:hunter2@db/monitor"},
            "Configuration error: DATABASE_URL must start with postgres://; got 'mysql'",
        ),
        (
            {**PRODUCTION, "DATABASE_URL": "postgres://monitor:hunter2@db:port/monitor"},
            "Configuration error: DATABASE_URL has a port that is not a number from 0 to 65535",
        ),
        (
            {**PRODUCTION, "DATABASE_URL": "postgres://monitor:hunter2@db:5432"},
            "Configuration error: DATABASE_URL names no database; e.g. postgres://user:password@host:5432/monitor",
        ),
        (
            {"REDIS_URL": "localhost:6379"},
            "Configuration error: REDIS_URL must start with redis://, rediss:// or unix://; got 'localhost'",
        ),
        (
            {"SECRET_KEY_FILE": "/nonexistent/monitor-key"},
            "Configuration error: SECRET_KEY_FILE names a file that cannot be read: /nonexistent/monitor-key "
            "(No such file or directory)",
        ),
    ],
)
def test_it_names_the_setting_in_one_line(env: dict[str, str], line: str, tmp_path: Path) -> None:
    done = manage_check(env, tmp_path)
    assert done.returncode != 0
    assert done.stderr.splitlines() == [line]
    assert "hunter2" not in done.stderr


def test_it_needs_no_secret_key_for_the_embedded_default_or_debug(tmp_path: Path) -> None:
    assert manage_check({}, tmp_path).returncode == 0
    assert manage_check({"DATABASE_URL": PRODUCTION["DATABASE_URL"], "DEBUG": "1"}, tmp_path).returncode == 0


def deployment_processes() -> list[str]:
    return next(b for b in shell_blocks(ROOT / "docs" / "deployment.md") if b.kind == "background").lines()


def process_name(command: str) -> str:
    words = command.split()
    name = Path(words[0]).name
    return f"{name} {words[3]}" if name == "celery" else name


@pytest.mark.parametrize("command", deployment_processes(), ids=process_name)
def test_every_process_of_the_deployment_guide_says_it_in_one_line(command: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": PRODUCTION["DATABASE_URL"], "HTTP_PORT": str(free_port()), "WS_PORT": str(free_port())}
    done = run(["bash", "-c", f"exec {command}"], env, tmp_path)
    assert done.returncode != 0
    assert [line.split(":")[0] for line in done.stderr.splitlines()] == ["Configuration error"]
    assert "SECRET_KEY" in done.stderr
