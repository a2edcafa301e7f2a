"""Report a service's calls, circuit breakers, concurrency and queues to a Resilience Monitor."""

from __future__ import annotations

from .breaker import CircuitBreaker
from .config import configure, get_reporter
from .errors import (
    BreakerOpen,
    BreakerOpenError,
    CallTimeout,
    CallTimeoutError,
    LimitFull,
    LimitFullError,
    Rejected,
    RejectedError,
)
from .limit import ConcurrencyLimit
from .monitored import monitored
from .reporter import Reporter
from .retry import retry
from .timeout import timeout

__all__ = [
    "BreakerOpen",
    "BreakerOpenError",
    "CallTimeout",
    "CallTimeoutError",
    "CircuitBreaker",
    "ConcurrencyLimit",
    "LimitFull",
    "LimitFullError",
    "Rejected",
    "RejectedError",
    "Reporter",
    "configure",
    "get_reporter",
    "monitored",
    "retry",
    "timeout",
]
