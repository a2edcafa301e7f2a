"""The monitor's own health: database, Redis, Celery worker, scheduler."""

from __future__ import annotations

from datetime import timedelta

import redis as redis_client
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.utils import timezone
from kombu.exceptions import KombuError

from monitoring.models import Heartbeat

from .celery import app

# The heartbeat job runs every 15 s; three missed beats mean the scheduler is gone.
STALE_AFTER = timedelta(seconds=45)


def part(ok: bool | None, detail: str) -> dict:
    return {"ok": ok, "detail": detail}


def database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:
        return part(False, f"{connection.vendor}: {error}")
    return part(True, connection.vendor)


def redis() -> dict:
    if not settings.REDIS_URL:
        return part(None, "not configured (embedded default: in-memory channel layer, in-process tasks)")
    try:
        redis_client.Redis.from_url(settings.REDIS_URL, socket_timeout=1).ping()
    except redis_client.RedisError as error:
        return part(False, str(error))
    return part(True, "ping answered")


WORKER_PING_KEPT_S = 10


def worker() -> dict:
    """Whether a Celery worker answers a ping, as found at most WORKER_PING_KEPT_S ago.

    A ping waits its whole second for every worker's reply, holding a server thread; the
    status endpoint is public and polled, so one ping serves every caller for a while.
    """
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return part(True, "tasks run in-process")
    try:
        found = cache.get("status:worker")
    except redis_client.RedisError:  # the cache is Redis: when it is down, so is the broker
        return ping_workers()
    if found is None:
        found = ping_workers()
        cache.set("status:worker", found, timeout=WORKER_PING_KEPT_S)
    return found


def ping_workers() -> dict:
    try:
        replies = app.control.ping(timeout=1.0)
    except (OSError, KombuError) as error:  # a broker that cannot be reached: no worker answered
        return part(False, f"ping failed: {error}")
    if not replies:
        return part(False, "no Celery worker answered a ping within 1 s")
    return part(True, f"{len(replies)} worker(s) answered")


def scheduler() -> dict:
    try:
        beat = Heartbeat.objects.filter(name="scheduler").first()
    except DatabaseError:
        return part(False, "unknown: database unavailable")
    if beat is None:
        return part(False, "no periodic job has run yet")
    age = timezone.now() - beat.at
    return part(age <= STALE_AFTER, f"last periodic job {int(age.total_seconds())} s ago")


def check() -> dict:
    return {"database": database(), "redis": redis(), "worker": worker(), "scheduler": scheduler()}
