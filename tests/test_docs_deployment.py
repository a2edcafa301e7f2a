"""docs/deployment.md, run as written: PostgreSQL, Redis, gunicorn, uvicorn, Celery worker and beat."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docs import shell_blocks
from tests.servers import Postgres, free_port, postgres_server, redis_server, stop, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "deployment.md"


def bash(script: str, env: dict, timeout: float = 300) -> str:
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{script}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    return done.stdout


def psql(url: str, sql: str) -> str:
    return subprocess.run(["psql", url, "-tAc", sql], capture_output=True, text=True, check=True).stdout.strip()


def status(env: dict) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{env['HTTP_PORT']}/api/v1/status",
        headers={"Host": env["SITE_HOST"], "X-Forwarded-Proto": "https"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)
    except OSError:
        return {}


def json_documents(text: str) -> list:
    """curl prints answers back to back, without newlines."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(text.rstrip()):
        document, at = decoder.raw_decode(text, at)
        found.append(document)
        while at < len(text) and text[at].isspace():
            at += 1
    return found


def all_ok(parts: dict) -> bool:
    return bool(parts) and all(part["ok"] for part in parts.values())


def create_database(pg: Postgres) -> str:
    """The guide's role and database, made as the superuser; the URL of it, with the password it printed."""
    block = next(b for b in shell_blocks(DOC) if b.kind == "create-database")
    env = {"PATH": os.environ["PATH"], "PGHOST": "127.0.0.1", "PGPORT": str(pg.port), "PGUSER": pg.user}
    password = re.search(r"DATABASE_URL=postgres://monitor:(\w+)@", bash(block.body, env)).group(1)
    return f"postgres://monitor:{password}@127.0.0.1:{pg.port}/monitor"


@pytest.fixture
def production_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with postgres_server() as pg, redis_server() as redis_url:
        database_url = create_database(pg)
        psql(pg.url(), "CREATE DATABASE restored")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "TEST_DB"))}
        env.update(
            {
                "DATABASE_URL": database_url,
                "RESTORE_DATABASE_URL": pg.url("restored"),
                "REDIS_URL": redis_url,
                "SECRET_KEY": secrets.token_urlsafe(50),
                "ALLOWED_HOSTS": "monitor.example.org",
                "CSRF_TRUSTED_ORIGINS": "https://monitor.example.org",
                "SITE_URL": "https://monitor.example.org",
                "SITE_HOST": "monitor.example.org",
                "HTTPS": "1",
                "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
                "SECURE_HSTS_PRELOAD": "1",
                "STATIC_ROOT": str(tmp_path / "static"),
                "MONITOR_VAR_DIR": str(tmp_path / "var"),
                "BACKUP_FILE": str(tmp_path / "monitor.dump"),
                "HTTP_PORT": str(free_port()),
                "WS_PORT": str(free_port()),
                "DEMO": "0",
                # Where gunicorn would open its control socket by default.
                "XDG_RUNTIME_DIR": str(tmp_path / "run"),
            }
        )
        (tmp_path / "run").mkdir()
        yield env


def test_the_deployment_guide_runs_as_written(production_env: dict[str, str]) -> None:
    env = production_env
    blocks = shell_blocks(DOC)
    setup, background, check, backup = (b for b in blocks if b.kind in ("run", "background"))
    restore = next(b for b in blocks if b.kind == "restore")

    prepared = bash(setup.body, env)
    assert "System check identified no issues" in prepared
    assert "password:" in prepared  # ensure_admin printed the first login
    assert (Path(env["STATIC_ROOT"]) / "admin").is_dir()

    processes = [
        subprocess.Popen(
            ["bash", "-c", f"exec {line}"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for line in background.lines()
    ]
    try:
        wait_for_port(int(env["HTTP_PORT"]), processes[0], timeout=30)
        wait_for_port(int(env["WS_PORT"]), processes[1], timeout=30)
        deadline = time.monotonic() + 90
        while not all_ok(parts := status(env)) and time.monotonic() < deadline:
            time.sleep(1)
        assert all_ok(parts), parts

        first, second = json_documents(bash(check.body, env))
        assert all_ok(first)
        assert second["accepted"]["calls"] == 1
        # A control socket at a path every gunicorn of the user shares: the next one takes it over.
        assert not (Path(env["XDG_RUNTIME_DIR"]) / "gunicorn.ctl").exists()
    finally:
        for process in processes:
            stop(process)

    # Migrated as the guide's role, the owner of the database, not as the superuser.
    assert (
        psql(env["DATABASE_URL"], "SELECT tableowner FROM pg_tables WHERE tablename = 'monitoring_service'")
        == "monitor"
    )
    bash(backup.body, env)
    bash(restore.body, env)
    assert psql(env["RESTORE_DATABASE_URL"], "SELECT name FROM monitoring_service") == "payments"
    assert psql(env["RESTORE_DATABASE_URL"], "SELECT sum(success) FROM monitoring_callbucket") == "1"
