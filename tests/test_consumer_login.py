"""The dashboard websocket ends when its login does, and only this site's pages may open it."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client

from resilience_site.asgi import application
from resilience_site.consumers import LOGGED_OUT, DashboardConsumer
from tests.browser import join

pytestmark = pytest.mark.django_db(transaction=True)

HOST = (b"host", b"127.0.0.1:8000")
ORIGIN = (b"origin", b"http://127.0.0.1:8000")


@pytest.fixture
def fast_recheck(monkeypatch: pytest.MonkeyPatch) -> None:
    # The production interval is 30 s; what is checked is the same at any interval.
    monkeypatch.setattr(DashboardConsumer, "recheck_s", 0.2)


def logged_in(client: Client) -> tuple[User, tuple[bytes, bytes]]:
    user = join(User.objects.create_user("viewer", password="a long enough password"), "viewer").user
    client.force_login(user)
    return user, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


def open_then(headers: list[tuple[bytes, bytes]], after_hello: object) -> dict:
    """Open the socket, read the greeting, run after_hello, then wait for what comes next."""

    async def scenario() -> dict:
        socket = WebsocketCommunicator(application, "/ws/dashboard/", headers=headers)
        connected, _ = await socket.connect()
        assert connected
        await socket.receive_json_from(timeout=2)
        await after_hello()
        output = await socket.receive_output(timeout=3)
        await socket.disconnect()
        return output

    return async_to_sync(scenario)()


def test_it_closes_the_socket_after_logout(client: Client, fast_recheck: None) -> None:
    _, cookie = logged_in(client)

    async def log_out() -> None:
        await sync_to_async(client.post)("/logout/")

    output = open_then([HOST, ORIGIN, cookie], log_out)
    assert output == {"type": "websocket.close", "code": LOGGED_OUT}


def test_it_closes_the_socket_when_the_user_is_deactivated(client: Client, fast_recheck: None) -> None:
    user, cookie = logged_in(client)

    async def deactivate() -> None:
        await sync_to_async(User.objects.filter(id=user.id).update)(is_active=False)

    output = open_then([HOST, ORIGIN, cookie], deactivate)
    assert output == {"type": "websocket.close", "code": LOGGED_OUT}


def test_it_keeps_the_socket_of_a_user_still_logged_in(client: Client, fast_recheck: None) -> None:
    _, cookie = logged_in(client)

    async def nothing() -> None:
        return None

    # Several rechecks pass with nothing to send: receive_output times out instead of closing.
    with pytest.raises(TimeoutError):
        open_then([HOST, ORIGIN, cookie], nothing)


@pytest.mark.parametrize(
    "origin",
    [b"http://127.0.0.1:9999", b"http://evil.example:8000", b"null"],
)
def test_it_refuses_a_page_on_another_port_or_host(client: Client, origin: bytes) -> None:
    _, cookie = logged_in(client)

    async def scenario() -> bool:
        socket = WebsocketCommunicator(application, "/ws/dashboard/", headers=[HOST, (b"origin", origin), cookie])
        connected, _ = await socket.connect()
        await socket.disconnect()
        return connected

    assert async_to_sync(scenario)() is False
