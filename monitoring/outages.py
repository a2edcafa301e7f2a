"""Working on while a shared part (the Redis cache) is down: what its errors look like, and
warnings about it that do not flood the log."""

from __future__ import annotations

import logging
import threading
import time

from redis.exceptions import RedisError

# What the cache raises when Redis cannot be reached (refused, timed out, reset).
CACHE_ERRORS = (RedisError, OSError)

WARN_EVERY_S = 60.0

_lock = threading.Lock()
_last: dict[str, float] = {}
_since: dict[str, int] = {}


def warn(log: logging.Logger, part: str, message: str) -> None:
    """Log message about part at most once every WARN_EVERY_S seconds in this process.

    Every request notices an outage; one line a minute says it as well, with how many
    times it was noticed since the last line.
    """
    now = time.monotonic()
    with _lock:
        _since[part] = _since.get(part, 0) + 1
        last = _last.get(part)
        if last is not None and now - last < WARN_EVERY_S:
            return
        _last[part], noticed = now, _since.pop(part)
    log.warning("%s (noticed %d time(s) since the last warning)", message, noticed)


def forget() -> None:
    """Start afresh: the next notice of each part is logged at once."""
    with _lock:
        _last.clear()
        _since.clear()
