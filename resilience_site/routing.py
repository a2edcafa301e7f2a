"""Websocket routes, served by the ASGI application."""

from __future__ import annotations

from django.urls import path

from resilience_site.consumers import DashboardConsumer

websocket_urlpatterns: list = [
    path("ws/dashboard/", DashboardConsumer.as_asgi()),
]
