"""What the wrappers raise. A monitored call that raises one of these reports its outcome."""

from __future__ import annotations


class Rejected(Exception):
    """The call never ran: short-circuited by an open breaker or a full concurrency limit."""


class BreakerOpen(Rejected):
    pass


class LimitFull(Rejected):
    pass


class CallTimeout(TimeoutError):
    """The call took longer than its timeout(). A TimeoutError, so `except TimeoutError` catches it."""
