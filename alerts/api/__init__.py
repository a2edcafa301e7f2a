"""The alerts app's part of /api/v1/: alerts, rules, channels, silences, deliveries."""

from __future__ import annotations

from ninja import Router

from . import alerts, channels, deliveries, rules, silences

router = Router()
for module in (alerts, rules, channels, silences, deliveries):
    router.add_router("", module.router)

__all__ = ["router"]
