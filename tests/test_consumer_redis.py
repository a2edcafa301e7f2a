"""The production path: ingest in one process publishes through Redis to a socket in another."""

from __future__ import annotations

import json
import urllib.request

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import Client
from pytest_django import Settings

from tests.conftest import call, now_iso
from tests.test_consumer import ORIGIN, communicator, session_cookie

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def subprocess_env(subprocess_env: dict[str, str], redis_url: str) -> dict[str, str]:
    return {**subprocess_env, "REDIS_URL": redis_url}


def post(base_url: str, token: str, batch: dict) -> int:
    request = urllib.request.Request(
        f"{base_url}/api/v1/ingest",
        data=json.dumps(batch).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return response.status


def test_it_delivers_a_delta_published_by_another_process(
    client: Client,
    settings: Settings,
    redis_url: str,
    live_site: str,
    token: str,
) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [redis_url]}}
    }
    cookie = session_cookie(client)
    batch = {
        "instance": "pod-1",
        "calls": [call("charge")],
        "breakers": [{"function": "charge", "state": "open", "ts": now_iso()}],
    }

    async def scenario() -> dict:
        socket = communicator(cookie, ORIGIN)
        connected, _ = await socket.connect()
        assert connected
        await socket.receive_json_from(timeout=2)  # hello
        assert await sync_to_async(post)(live_site, token, batch) == 202
        message = await socket.receive_json_from(timeout=5)
        await socket.disconnect()
        return message

    message = async_to_sync(scenario)()
    assert message["calls"] == 1
    assert [row["breaker"] for row in message["functions"]] == ["open"]
