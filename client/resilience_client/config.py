"""The default reporter every wrapper uses unless it was given its own."""

from __future__ import annotations

from typing import Unpack

from .reporter import Options, Reporter

_default: Reporter | None = None


def configure(url: str, token: str, **options: Unpack[Options]) -> Reporter:
    """Set (and return) the default reporter; closes the one it replaces."""
    global _default
    previous, _default = _default, Reporter(url, token, **options)
    if previous is not None:
        previous.close(timeout=2.0)
    return _default


def get_reporter() -> Reporter | None:
    return _default


def reporter_or_default(reporter: Reporter | None) -> Reporter | None:
    return reporter if reporter is not None else _default
