"""Websocket routes, served by the ASGI application."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import path

from resilience_site.consumers import DashboardConsumer

DASHBOARD_SOCKET = "ws/dashboard/"

websocket_urlpatterns: list = [
    path(DASHBOARD_SOCKET, DashboardConsumer.as_asgi()),
]


def socket_path(request: HttpRequest) -> dict:
    """Template context: where pages open the dashboard's websocket (templates/base.html)."""
    return {"live_socket_path": "/" + DASHBOARD_SOCKET}
