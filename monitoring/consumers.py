"""The dashboard's websocket: logged-in users get the live deltas. Never writes to the database."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from . import live, outages
from .outages import CACHE_ERRORS

log = logging.getLogger(__name__)

# Close codes for "log in first" and "no live updates for now", in the range kept for applications.
NOT_LOGGED_IN = 4401
LIVE_UNAVAILABLE = 4503


def layer_down(error: Exception) -> None:
    outages.warn(log, "channel layer", f"dashboards get no live updates: the channel layer is down ({error})")


class DashboardConsumer(AsyncJsonWebsocketConsumer):
    pacer: live.Pacer | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=NOT_LOGGED_IN)
            return
        live.listening_on(asyncio.get_running_loop())
        try:
            await self.channel_layer.group_add(live.group_name(), self.channel_name)
        except CACHE_ERRORS as error:
            # The page polls the read API while its socket is closed, and tries again later.
            layer_down(error)
            await self.close(code=LIVE_UNAVAILABLE)
            return
        self.pacer = live.Pacer(self.send_json)
        await self.accept()
        await self.send_json({"type": "hello", "user": user.get_username()})

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        try:
            await super().__call__(scope, receive, send)
        except CACHE_ERRORS as error:
            # The layer failed while this socket listened: the socket closes, the page polls.
            layer_down(error)

    async def disconnect(self, code: int) -> None:
        if self.pacer is None:
            return  # never joined the group
        self.pacer.cancel()
        await self.channel_layer.group_discard(live.group_name(), self.channel_name)

    async def dashboard_delta(self, event: dict) -> None:
        await self.pacer.offer(event["delta"])
