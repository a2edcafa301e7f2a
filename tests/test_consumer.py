"""The dashboard websocket: login and origin checked, deltas arrive, coalesced."""

from __future__ import annotations

import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client

from alerts import lifecycle
from alerts.models import Rule
from monitoring.models import Project, Service
from resilience_site import live
from resilience_site.asgi import application
from tests.browser import join
from tests.conftest import Reporter, call

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://127.0.0.1:8000")
HOST = (b"host", b"127.0.0.1:8000")


def session_cookie(client: Client) -> tuple[bytes, bytes]:
    user = join(User.objects.create_user("viewer", password="a long enough password"), "viewer").user
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


def communicator(*headers: tuple[bytes, bytes]) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, "/ws/dashboard/", headers=[HOST, *headers])


def test_it_refuses_anonymous_users() -> None:
    async def scenario() -> tuple[bool, int | None]:
        socket = communicator(ORIGIN)
        connected, code = await socket.connect()
        await socket.disconnect()
        return connected, code

    connected, code = async_to_sync(scenario)()
    assert connected is False
    assert code == 4401


def test_it_refuses_a_foreign_origin(client: Client) -> None:
    cookie = session_cookie(client)

    async def scenario() -> bool:
        socket = communicator(cookie, (b"origin", b"https://evil.example"))
        connected, _ = await socket.connect()
        await socket.disconnect()
        return connected

    assert async_to_sync(scenario)() is False


def test_it_greets_a_logged_in_user(client: Client) -> None:
    cookie = session_cookie(client)

    async def scenario() -> tuple[bool, dict]:
        socket = communicator(cookie, ORIGIN)
        connected, _ = await socket.connect()
        hello = await socket.receive_json_from(timeout=2)
        await socket.disconnect()
        return connected, hello

    connected, hello = async_to_sync(scenario)()
    assert connected is True
    assert hello == {"type": "hello", "user": "viewer"}


def test_it_forwards_a_delta_after_an_ingest(client: Client, reporter: Reporter) -> None:
    cookie = session_cookie(client)
    batch = {"instance": "pod-1", "calls": [call("charge")], "breakers": [{"function": "charge", "state": "open"}]}
    batch["breakers"][0]["ts"] = batch["calls"][0]["ts"]

    async def scenario() -> dict:
        socket = communicator(cookie, ORIGIN)
        await socket.connect()
        await socket.receive_json_from(timeout=2)  # hello
        answer = await sync_to_async(reporter.post)(batch)
        assert answer.status_code == 202
        message = await socket.receive_json_from(timeout=3)
        await socket.disconnect()
        return message

    message = async_to_sync(scenario)()
    assert message["type"] == "delta"
    assert message["services"] == [reporter_service_id()]
    assert message["calls"] == 1
    [row] = message["functions"]
    assert row["breaker"] == "open"
    assert row["health"] == "unhealthy"
    assert row["breaker_text"].startswith("open on 1 of 1 instances")
    assert (row["breaker_count"], row["breaker_instances"]) == (1, 1)
    assert row["breaker_since"].startswith(batch["breakers"][0]["ts"][:19])
    assert message["committed_at"] <= message["sent_at"] <= time.time()


def reporter_service_id() -> int:
    return Service.objects.get(name="payments").id


def test_it_coalesces_heavy_ingest(client: Client, reporter: Reporter) -> None:
    cookie = session_cookie(client)

    async def scenario() -> list[dict]:
        socket = communicator(cookie, ORIGIN)
        await socket.connect()
        await socket.receive_json_from(timeout=2)  # hello
        started = time.monotonic()
        posted = 0
        while time.monotonic() - started < 1.0:
            await sync_to_async(reporter.post)({"calls": [call("charge")]})
            posted += 1
        assert posted >= 10, "too few batches to show coalescing"
        messages = []
        # receive_nothing() waits without cancelling the consumer, as a timed-out receive would.
        while not await socket.receive_nothing(timeout=1.0, interval=0.02):
            messages.append(await socket.receive_json_from())
        await socket.disconnect()
        return [*messages, {"posted": posted}]

    *messages, posted = async_to_sync(scenario)()
    # One second of ingest, then whatever was still pending: at most ~4 a second plus one.
    assert 1 <= len(messages) <= 6
    assert sum(message["calls"] for message in messages) == posted["posted"]


def test_it_forwards_an_alert_change_after_commit(client: Client) -> None:
    cookie = session_cookie(client)
    rule = Rule.objects.create(name="charge errors", metric="error_rate", threshold=0.2)
    observation = lifecycle.Observation(fingerprint="payments/charge", service="payments", subject="charge", value=0.5)

    async def scenario() -> tuple[int, dict]:
        socket = communicator(cookie, ORIGIN)
        await socket.connect()
        await socket.receive_json_from(timeout=2)  # hello
        alert = await sync_to_async(lifecycle.fire)(rule, observation)
        message = await socket.receive_json_from(timeout=3)
        await socket.disconnect()
        return alert.id, message

    alert_id, message = async_to_sync(scenario)()
    assert message["alerts"] == [{"id": alert_id, "state": "firing"}]
    assert message["services"] == []


def test_it_paces_deltas_from_many_publishers(client: Client) -> None:
    """Several processes publishing at once still reach a page at ~4 messages a second."""
    cookie = session_cookie(client)
    default_id = Project.objects.default().id  # the viewer's project: its pages' group
    delta = {
        "type": "delta",
        "committed_at": None,
        "sent_at": 0.0,
        "services": [1],
        "queue_services": [],
        "calls": 1,
        "functions": [],
        "alerts": [],
        "resync": False,
    }

    async def scenario() -> list[dict]:
        socket = communicator(cookie, ORIGIN)
        await socket.connect()
        await socket.receive_json_from(timeout=2)  # hello
        layer = get_channel_layer()
        for i in range(40):
            rows = [
                {
                    "id": 7,
                    "health": "healthy",
                    "breaker": "open" if i == 39 else "closed",
                    "breaker_text": "",
                    "calls_5m": i,
                    "error_rate_5m": None,
                }
            ]
            await layer.group_send(
                live.project_group(default_id), {"type": "dashboard.delta", "delta": {**delta, "functions": rows}}
            )
        messages = [await socket.receive_json_from(timeout=1)]
        while not await socket.receive_nothing(timeout=0.6, interval=0.02):
            messages.append(await socket.receive_json_from())
        await socket.disconnect()
        return messages

    messages = async_to_sync(scenario)()
    assert len(messages) == 2  # the first at once, the other 39 merged into one 250 ms later
    assert sum(message["calls"] for message in messages) == 40
    assert messages[-1]["functions"] == [
        {"id": 7, "health": "healthy", "breaker": "open", "breaker_text": "", "calls_5m": 39, "error_rate_5m": None}
    ]
