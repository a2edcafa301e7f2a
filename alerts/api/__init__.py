"""The alerts app's part of /api/v1/: alerts, incidents, rules, channels, silences, deliveries, status pages, SLOs,
escalation policies."""

from __future__ import annotations

from ninja import Router

from . import alerts, channels, deliveries, escalation, incidents, rules, silences, slos, status_pages

router = Router()
for module in (alerts, incidents, rules, channels, silences, deliveries, status_pages, slos, escalation):
    router.add_router("", module.router)

__all__ = ["router"]
