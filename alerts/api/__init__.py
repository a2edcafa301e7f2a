"""The alerts app's part of /api/v1/: alerts, rules, channels, silences, deliveries, SLOs."""

from __future__ import annotations

from ninja import Router

from . import alerts, channels, deliveries, rules, silences, slos

router = Router()
for module in (alerts, rules, channels, silences, deliveries, slos):
    router.add_router("", module.router)

__all__ = ["router"]
