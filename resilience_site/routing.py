"""Websocket routes, served by the ASGI application."""

from __future__ import annotations

from django.urls import path  # noqa: F401  (used once consumers are routed)

websocket_urlpatterns: list = []
