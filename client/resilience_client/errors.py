"""What the wrappers raise. A monitored call that raises one of these reports its outcome."""

from __future__ import annotations


class RejectedError(Exception):
    """The call never ran: short-circuited by an open breaker or a full concurrency limit."""


class BreakerOpenError(RejectedError):
    pass


class LimitFullError(RejectedError):
    pass


class CallTimeoutError(TimeoutError):
    """The call took longer than its timeout(). A TimeoutError, so `except TimeoutError` catches it."""


# The names these had first, kept so that code catching them goes on working.
Rejected = RejectedError
BreakerOpen = BreakerOpenError
LimitFull = LimitFullError
CallTimeout = CallTimeoutError
