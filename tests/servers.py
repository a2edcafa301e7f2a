"""Throwaway servers for the tests: PostgreSQL and Redis on free loopback ports.

A missing binary skips the tests that need it, with the reason, except under CI=true,
where it fails them.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(reason: str) -> None:
    if in_ci():
        pytest.fail(f"{reason} (CI=true: a missing server fails the run)", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listened on port {port} within {timeout} s")


def wait_for_postgres(port: int, process: subprocess.Popen, timeout: float = 60.0) -> None:
    """PostgreSQL listens before it accepts connections ("the database system is starting up")."""

    wait_for_port(port, process, timeout)
    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres", connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def find_binary(name: str, extra_globs: tuple[str, ...] = ()) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for pattern in extra_globs:
        matches = sorted(glob.glob(pattern))
        if matches:
            return matches[-1]
    return None


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class Postgres:
    port: int
    user: str = "postgres"

    def url(self, name: str = "postgres") -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{name}"


@contextmanager
def postgres_server(durable: bool = False) -> Iterator[Postgres]:
    """A throwaway PostgreSQL. Tests skip syncing to disk; durable=True keeps PostgreSQL's
    own defaults (fsync, synchronous commit), for benchmarks that promise a durable write."""
    initdb = find_binary("initdb", ("/usr/lib/postgresql/*/bin/initdb",))
    if initdb is None:
        missing("PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql/*/bin)")
    bindir = os.path.dirname(initdb)
    datadir = tempfile.mkdtemp(prefix="monitor-pg-")
    # initdb and postgres refuse to run as root: run them as the postgres system user.
    as_user: list[str] = []
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        os.chown(datadir, account.pw_uid, account.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*as_user, initdb, "-D", datadir, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    port = free_port()
    unsynced = [] if durable else ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
    process = subprocess.Popen(
        [
            *as_user,
            os.path.join(bindir, "postgres"),
            "-D",
            datadir,
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
            "-k",
            datadir,
            *unsynced,
            "-c",
            "max_connections=200",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_postgres(port, process)
        yield Postgres(port=port)
    finally:
        stop(process)
        shutil.rmtree(datadir, ignore_errors=True)


@dataclass
class Redis:
    url: str
    process: subprocess.Popen

    def stop(self) -> None:
        """Stop it now, as an outage would; the context manager's exit is then a no-op."""
        if self.process.poll() is None:
            stop(self.process)


@contextmanager
def redis_process() -> Iterator[Redis]:
    binary = find_binary("redis-server")
    if binary is None:
        missing("Redis is not installed (no redis-server on PATH; apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = Redis(f"redis://127.0.0.1:{port}/0", process)
    try:
        wait_for_port(port, process)
        yield server
    finally:
        server.stop()


@contextmanager
def redis_server() -> Iterator[str]:
    with redis_process() as server:
        yield server.url
