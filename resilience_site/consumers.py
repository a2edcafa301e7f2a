"""The dashboard's websocket: logged-in users get the live deltas of their projects. Never
writes to the database.

A socket joins the group of each project its person may see (the owner: the installation's
group, which gets every delta whole; resilience_site/live.py). The groups are read when it
opens and again at every recheck (recheck_s), so a person who loses a project stops getting
its deltas within that time, and one added to a project gets them without reloading.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from importlib import import_module
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.contrib.auth import get_user_model

from monitoring import outages, projects
from monitoring.outages import CACHE_ERRORS

from . import live

log = logging.getLogger(__name__)

# Close codes for "log in first", "your login ended" and "no live updates for now", in the
# range kept for applications.
NOT_LOGGED_IN = 4401
LOGGED_OUT = 4403
LIVE_UNAVAILABLE = 4503


def layer_down(error: Exception) -> None:
    outages.warn(log, "channel layer", f"dashboards get no live updates: the channel layer is down ({error})")


def groups_for(user_id: int) -> set[str]:
    """The groups whose deltas this person may get: the owner's whole one, else one a project."""
    user = get_user_model().objects.filter(id=user_id, is_active=True).first()
    if projects.is_owner(user):
        return {live.group_name()}
    return {live.project_group(project_id) for project_id in projects.project_roles(user)}


def still_logged_in(user_id: int, session_key: str | None) -> bool:
    """True while the user is active and the session the socket was opened with still exists."""
    if not get_user_model().objects.filter(id=user_id, is_active=True).exists():
        return False
    if session_key is None:
        return True
    store = import_module(settings.SESSION_ENGINE).SessionStore
    return store().exists(session_key)


class DashboardConsumer(AsyncJsonWebsocketConsumer):
    pacer: live.Pacer | None = None
    watcher: asyncio.Task | None = None
    groups: frozenset[str] = frozenset()
    # A logout or a deactivation closes the socket within this many seconds.
    recheck_s: float = 30.0

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=NOT_LOGGED_IN)
            return
        live.listening_on(asyncio.get_running_loop())
        try:
            await self.join(await database_sync_to_async(groups_for)(user.id))
        except CACHE_ERRORS as error:
            # The page polls the read API while its socket is closed, and tries again later.
            layer_down(error)
            await self.close(code=LIVE_UNAVAILABLE)
            return
        self.pacer = live.Pacer(self.send_json)
        await self.accept()
        await self.send_json({"type": "hello", "user": user.get_username()})
        session = self.scope.get("session")
        self.watcher = asyncio.ensure_future(self.watch_login(user.id, getattr(session, "session_key", None)))

    async def join(self, groups: set[str]) -> None:
        """Be in these groups and no others."""
        for group in sorted(groups - self.groups):
            await self.channel_layer.group_add(group, self.channel_name)
        for group in sorted(self.groups - groups):
            await self.channel_layer.group_discard(group, self.channel_name)
        self.groups = frozenset(groups)

    async def watch_login(self, user_id: int, session_key: str | None) -> None:
        while True:
            await asyncio.sleep(self.recheck_s)
            if not await database_sync_to_async(still_logged_in)(user_id, session_key):
                await self.close(code=LOGGED_OUT)
                return
            try:
                await self.join(await database_sync_to_async(groups_for)(user_id))
            except CACHE_ERRORS as error:
                layer_down(error)
                await self.close(code=LIVE_UNAVAILABLE)
                return

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        try:
            await super().__call__(scope, receive, send)
        except CACHE_ERRORS as error:
            # The layer failed while this socket listened: the socket closes, the page polls.
            layer_down(error)

    async def disconnect(self, code: int) -> None:
        if self.watcher is not None:
            self.watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.watcher
        if self.pacer is not None:
            self.pacer.cancel()
        await self.join(set())

    async def dashboard_delta(self, event: dict) -> None:
        await self.pacer.offer(event["delta"])


def same_origin(scope: dict) -> bool:
    """The page's Origin names this site's host and port (the Host header), or a trusted origin."""
    headers = dict(scope.get("headers", []))
    origin = headers.get(b"origin", b"").decode("latin-1")
    host = headers.get(b"host", b"").decode("latin-1")
    if not origin or origin == "null":
        return False
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    parts = urlsplit(origin)
    default_port = {"http": 80, "https": 443}.get(parts.scheme)
    netloc = parts.hostname or ""
    if parts.port and parts.port != default_port:
        netloc = f"{netloc}:{parts.port}"
    return bool(host) and netloc == strip_default_port(host)


def strip_default_port(host: str) -> str:
    for suffix in (":80", ":443"):
        if host.endswith(suffix):
            return host.removesuffix(suffix)
    return host


class SameOriginOnly:
    """Refuse a websocket whose Origin is not this site's host and port.

    AllowedHostsOriginValidator checks the Origin's host name only: a page on another
    port of the same host (another service there) could open the socket with the cookie.
    """

    def __init__(self, app: object) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: object, send: object) -> None:
        if not same_origin(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.app(scope, receive, send)
