"""The dashboard's websocket: logged-in users get the live deltas. Never writes to the database."""

from __future__ import annotations

import asyncio

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from . import live

# Close code for "log in first", in the range kept for applications.
NOT_LOGGED_IN = 4401


class DashboardConsumer(AsyncJsonWebsocketConsumer):
    pacer: live.Pacer | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=NOT_LOGGED_IN)
            return
        live.listening_on(asyncio.get_running_loop())
        self.pacer = live.Pacer(self.send_json)
        await self.channel_layer.group_add(live.group_name(), self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "user": user.get_username()})

    async def disconnect(self, code: int) -> None:
        if self.pacer is not None:
            self.pacer.cancel()
        await self.channel_layer.group_discard(live.group_name(), self.channel_name)

    async def dashboard_delta(self, event: dict) -> None:
        await self.pacer.offer(event["delta"])
