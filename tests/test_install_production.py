"""`make install` (no dev extras) gives a venv whose Celery worker and beat run on Redis.

The dev extras pull in packages that production needs too; this install leaves them out,
so a dependency only the dev extras bring is caught here, not on the first deploy.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from monitoring.models import Heartbeat
from tests.servers import redis_server, stop

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def production_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("install") / "venv"
    done = subprocess.run(
        ["make", "install", f"VENV={venv}", f"PYTHON={sys.executable}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return venv


def run_celery(venv: Path, env: dict[str, str], log: Path, *args: str) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(
            [str(venv / "bin" / "celery"), "-A", "resilience_site", *args],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture
def celery_env(subprocess_env: dict[str, str]) -> Iterator[dict[str, str]]:
    with redis_server() as redis_url:
        yield {**subprocess_env, "REDIS_URL": redis_url}


def worker_answers(venv: Path, env: dict[str, str], name: str) -> bool:
    ping = [str(venv / "bin" / "celery"), "-A", "resilience_site", "inspect", "ping", "-d", name, "--timeout", "1"]
    return subprocess.run(ping, cwd=ROOT, env=env, capture_output=True, timeout=30).returncode == 0


def wait_until(
    condition: Callable[[], bool], processes: list[subprocess.Popen], logs: list[Path], timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        exited = [p for p in processes if p.poll() is not None]
        if exited or time.monotonic() > deadline:
            tails = "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in logs)
            pytest.fail(f"{'a process exited' if exited else 'timed out'}\n{tails}")
        time.sleep(0.5)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_worker_and_beat_of_a_production_install_run(
    production_venv: Path, celery_env: dict[str, str], tmp_path: Path
) -> None:
    worker_log, beat_log = tmp_path / "worker.log", tmp_path / "beat.log"
    worker = run_celery(
        production_venv, celery_env, worker_log, "worker", "-n", "install-check@localhost", "--concurrency", "1"
    )
    beat = run_celery(
        production_venv, celery_env, beat_log, "beat", "--loglevel", "INFO", "--schedule", str(tmp_path / "schedule")
    )
    processes, logs = [worker, beat], [worker_log, beat_log]
    try:
        wait_until(lambda: worker_answers(production_venv, celery_env, "install-check@localhost"), processes, logs, 60)
        # Beat sends the heartbeat 15 s after it starts; the worker records it in the database.
        wait_until(lambda: Heartbeat.objects.filter(name="scheduler").exists(), processes, logs, 60)
    finally:
        stop(beat)
        stop(worker)
    assert "Sending due task heartbeat" in beat_log.read_text()
