"""Wrong tokens from one address are answered 429 past a limit; right tokens always get in."""

from __future__ import annotations

import orjson
import pytest
from django.core.cache import cache
from django.http import HttpResponse
from django.test import Client
from pytest_django import Settings

from tests.conftest import call

pytestmark = pytest.mark.django_db

WRONG = "rmi_" + "x" * 40


@pytest.fixture(autouse=True)
def limit(settings: Settings) -> None:
    settings.MONITOR_AUTH_FAILURES_PER_ADDRESS = 5
    cache.clear()


def ingest(client: Client, token: str, address: str, **headers: str) -> HttpResponse:
    return client.post(
        "/api/v1/ingest",
        orjson.dumps({"calls": [call()]}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}", **headers},
        REMOTE_ADDR=address,
    )


def test_wrong_tokens_from_one_address_get_429_past_the_limit(client: Client) -> None:
    answers = [ingest(client, WRONG, "10.0.0.1") for _ in range(7)]
    assert [a.status_code for a in answers] == [401] * 5 + [429] * 2
    refused = answers[-1]
    assert 1 <= int(refused["Retry-After"]) <= 900
    assert refused.json()["detail"].startswith("too many failed token authentications from this address")


def test_other_addresses_and_right_tokens_are_not_refused(client: Client, token: str) -> None:
    for _ in range(6):
        ingest(client, WRONG, "10.0.0.1")
    assert ingest(client, WRONG, "10.0.0.2").status_code == 401
    assert ingest(client, token, "10.0.0.1").status_code == 202


def test_wrong_personal_tokens_count_too(client: Client) -> None:
    for _ in range(5):
        ingest(client, WRONG, "10.0.0.1")
    r = client.get("/api/v1/functions", headers={"Authorization": "Bearer rmu_wrong"}, REMOTE_ADDR="10.0.0.1")
    assert r.status_code == 429
    assert "Retry-After" in r


def test_behind_a_proxy_the_address_comes_from_its_header(client: Client, settings: Settings) -> None:
    settings.MONITOR_CLIENT_ADDRESS_HEADER = "X-Real-IP"
    for _ in range(6):
        ingest(client, WRONG, "127.0.0.1", **{"X-Real-IP": "203.0.113.7"})
    assert ingest(client, WRONG, "127.0.0.1", **{"X-Real-IP": "203.0.113.7"}).status_code == 429
    assert ingest(client, WRONG, "127.0.0.1", **{"X-Real-IP": "203.0.113.8"}).status_code == 401


def test_a_caller_cannot_pick_its_address_ahead_of_the_one_the_proxy_adds(client: Client, settings: Settings) -> None:
    settings.MONITOR_CLIENT_ADDRESS_HEADER = "X-Forwarded-For"
    for spoofed in range(6):
        ingest(client, WRONG, "127.0.0.1", **{"X-Forwarded-For": f"198.51.100.{spoofed}, 203.0.113.7"})
    assert ingest(client, WRONG, "127.0.0.1", **{"X-Forwarded-For": "198.51.100.99, 203.0.113.7"}).status_code == 429
