"""The live websocket per project: a page is sent only its projects' deltas, through the real
channel layer (in memory here, Redis across processes at the end)."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django import Settings

from alerts import lifecycle
from alerts.models import Rule
from monitoring.models import IngestToken, Membership, Project, Service
from resilience_site import live
from resilience_site.consumers import DashboardConsumer
from tests.browser import join, make_user
from tests.conftest import Reporter, call, now_iso
from tests.test_consumer import ORIGIN, communicator
from tests.test_consumer_redis import post

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two() -> dict:
    """Project A (payments, the default project) and B (llm), a service and an ingest token
    each; a responder of A, a viewer of B only (a stranger to A), and the owner."""
    b = Project.objects.create(name="AI platform", slug="ai")
    found: dict = {"b": b}
    for key, name, project in (("a", "payments", Project.objects.default()), ("b", "llm", b)):
        service = Service.objects.create(name=name, project=project)
        found[f"{key}_service"] = service
        found[f"{key}_token"] = IngestToken.issue(service=service)[1]
    found["member"] = make_user("responder")
    stranger = User.objects.create_user("stranger")
    join(stranger, "viewer", b)
    found["stranger"] = stranger
    found["owner"] = make_user("admin", "owner")
    return found


def cookie_of(user: User) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


def flip(function: str) -> dict:
    ts = now_iso()
    return {
        "instance": "pod-1",
        "calls": [call(function)],
        "breakers": [{"function": function, "state": "open", "ts": ts}],
    }


async def open_socket(user_cookie: tuple[bytes, bytes]) -> WebsocketCommunicator:
    socket = communicator(user_cookie, ORIGIN)
    connected, _ = await socket.connect()
    assert connected
    assert (await socket.receive_json_from(timeout=2))["type"] == "hello"
    return socket


async def received(socket: WebsocketCommunicator, quiet: float = 0.8) -> list[dict]:
    """Everything the socket got until it was quiet for `quiet` seconds."""
    messages = []
    while not await socket.receive_nothing(timeout=quiet, interval=0.02):
        messages.append(await socket.receive_json_from())
    return messages


def services_in(messages: list[dict]) -> set[int]:
    return {service for message in messages for service in message["services"]}


def test_a_page_gets_only_its_projects_deltas(client: Client, two: dict) -> None:
    a, b = two["a_service"], two["b_service"]

    cookies = {who: cookie_of(two[who]) for who in ("member", "stranger", "owner")}

    async def scenario() -> dict[str, list[dict]]:
        sockets = {who: await open_socket(cookie) for who, cookie in cookies.items()}
        assert (await sync_to_async(Reporter(client, two["a_token"]).post)(flip("charge"))).status_code == 202
        assert (await sync_to_async(Reporter(client, two["b_token"]).post)(flip("embed"))).status_code == 202
        got = {who: await received(socket) for who, socket in sockets.items()}
        for socket in sockets.values():
            await socket.disconnect()
        return got

    got = async_to_sync(scenario)()
    # A's member: A's service and its flipped function, the calls of A only.
    assert services_in(got["member"]) == {a.id}
    assert {row["id"] for m in got["member"] for row in m["functions"]} == {a.functions.get().id}
    assert sum(m["calls"] for m in got["member"]) == 1
    # The stranger (in B only): B's news only, nothing of A's.
    assert services_in(got["stranger"]) == {b.id}
    assert {row["id"] for m in got["stranger"] for row in m["functions"]} == {b.functions.get().id}
    assert all("_project" not in row for m in got["stranger"] for row in m["functions"])
    # The owner: both.
    assert services_in(got["owner"]) == {a.id, b.id}
    assert sum(m["calls"] for m in got["owner"]) == 2


def test_an_alert_reaches_only_its_services_project(two: dict) -> None:
    rule = Rule.objects.create(name="charge errors", metric="error_rate", threshold=0.2)
    observation = lifecycle.Observation(fingerprint="payments/charge", service="payments", subject="charge", value=0.5)

    cookies = {who: cookie_of(two[who]) for who in ("member", "stranger", "owner")}

    async def scenario() -> tuple[int, dict[str, list[dict]]]:
        sockets = {who: await open_socket(cookie) for who, cookie in cookies.items()}
        alert = await sync_to_async(lifecycle.fire)(rule, observation)
        got = {who: await received(socket) for who, socket in sockets.items()}
        for socket in sockets.values():
            await socket.disconnect()
        return alert.id, got

    alert_id, got = async_to_sync(scenario)()
    assert [m["alerts"] for m in got["member"]] == [[{"id": alert_id, "state": "firing"}]]
    assert [m["alerts"] for m in got["owner"]] == [[{"id": alert_id, "state": "firing"}]]
    assert got["stranger"] == []


def test_a_person_who_loses_the_project_stops_getting_its_deltas(
    client: Client, two: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(DashboardConsumer, "recheck_s", 0.2)
    reporter = Reporter(client, two["a_token"])

    cookie = cookie_of(two["member"])

    async def scenario() -> tuple[list[dict], list[dict]]:
        socket = await open_socket(cookie)
        assert (await sync_to_async(reporter.post)({"calls": [call("charge")]})).status_code == 202
        before = await received(socket)
        await sync_to_async(Membership.objects.filter(user=two["member"]).delete)()
        await socket.receive_nothing(timeout=0.6)  # a recheck or two
        assert (await sync_to_async(reporter.post)({"calls": [call("charge")]})).status_code == 202
        after = await received(socket)
        await socket.disconnect()
        return before, after

    before, after = async_to_sync(scenario)()
    assert services_in(before) == {two["a_service"].id}
    assert after == []


@pytest.fixture
def subprocess_env(subprocess_env: dict[str, str], redis_url: str) -> dict[str, str]:
    return {**subprocess_env, "REDIS_URL": redis_url}


@pytest.mark.redis
def test_through_redis_another_processs_delta_reaches_only_its_project(
    two: dict, settings: Settings, redis_url: str, live_site: str
) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [redis_url]}}
    }

    cookies = {who: cookie_of(two[who]) for who in ("member", "stranger", "owner")}

    async def scenario() -> dict[str, list[dict]]:
        sockets = {who: await open_socket(cookie) for who, cookie in cookies.items()}
        assert await sync_to_async(post)(live_site, two["a_token"], flip("charge")) == 202
        got = {who: await received(socket, quiet=1.5) for who, socket in sockets.items()}
        for socket in sockets.values():
            await socket.disconnect()
        return got

    got = async_to_sync(scenario)()
    a = two["a_service"]
    assert services_in(got["member"]) == {a.id}
    assert [row["breaker"] for m in got["member"] for row in m["functions"]] == ["open"]
    assert services_in(got["owner"]) == {a.id}
    assert got["stranger"] == []


def test_a_flush_reads_the_same_whatever_the_number_of_projects(client: Client, two: dict) -> None:
    """One build per flush: the reads do not grow with the projects (nor with the pages, which
    only join groups)."""

    def reads(services: list[Service]) -> tuple[int, dict]:
        pending = live.Pending(services={s.id for s in services}, functions=set())
        for service in services:
            pending.functions |= set(service.functions.values_list("id", flat=True))
            pending.service_calls[service.id] = 1
        with CaptureQueriesContext(connection) as queries:
            split = live.parts(live.delta(pending))
        return len(queries.captured_queries), split

    for key in ("a", "b"):
        assert Reporter(client, two[f"{key}_token"]).post(flip("work")).status_code == 202
    few, split = reads([two["a_service"], two["b_service"]])
    assert set(split) == {None, two["a_service"].project_id, two["b"].id}
    services = [two["a_service"], two["b_service"]]
    for n in range(10):
        service = Service.objects.create(name=f"svc-{n}", project=Project.objects.create(name=f"P{n}", slug=f"p{n}"))
        assert Reporter(client, IngestToken.issue(service=service)[1]).post(flip("work")).status_code == 202
        services.append(service)
    many, split = reads(services)
    assert len(split) == 13 and many == few
    assert all(message["calls"] == 1 and len(message["functions"]) == 1 for key, message in split.items() if key)


def test_a_resync_reaches_every_project_and_names_nothing(two: dict) -> None:
    """Too many alerts changed at once: no rows, so every page is asked to re-fetch (scoped)."""
    pending = live.Pending(alerts=set(range(1, live.MAX_ROWS + 2)))
    split = live.parts(live.delta(pending))
    assert set(split) == {None, two["a_service"].project_id, two["b"].id}
    assert all(m["resync"] and m["alerts"] == [] and m["services"] == [] for m in split.values())
