"""Wrong passwords lock the login form for the account, and for the address, for a while."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.http import HttpResponse
from django.test import Client
from pytest_django import Settings

from tests.browser import PASSWORD, make_user

pytestmark = pytest.mark.django_db

LOCKED = "Too many failed attempts; try again in "


@pytest.fixture(autouse=True)
def limits(settings: Settings) -> None:
    settings.MONITOR_LOGIN_FAILURES_PER_ACCOUNT = 3
    settings.MONITOR_AUTH_FAILURES_PER_ADDRESS = 5
    settings.MONITOR_AUTH_FAILURE_WINDOW_S = 900
    cache.clear()
    make_user("admin")
    make_user("viewer")


def log_in(client: Client, username: str, password: str, address: str, path: str = "/login/") -> HttpResponse:
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


def logged_in(client: Client) -> bool:
    return client.get("/functions/").status_code == 200


def test_it_locks_an_account_after_too_many_wrong_passwords(client: Client) -> None:
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        wrong = log_in(client, "admin", "guess", address)
        assert wrong.status_code == 200
        assert b"did not match" in wrong.content
    locked = log_in(client, "admin", PASSWORD, "10.0.0.4")
    assert locked.status_code == 429
    assert 1 <= int(locked["Retry-After"]) <= 900
    page = locked.content.decode()
    # Counted in windows of MONITOR_AUTH_FAILURE_WINDOW_S: near a window's end it reads "1 minute".
    assert re.search(LOCKED + r"\d+ minutes?\.", page)
    assert "did not match" not in page
    assert not logged_in(client)


def test_another_account_still_logs_in_from_the_same_address(client: Client) -> None:
    for _ in range(3):
        log_in(client, "admin", "guess", "10.0.0.1")
    assert log_in(client, "viewer", PASSWORD, "10.0.0.1").status_code == 302
    assert logged_in(client)


def test_it_locks_an_address_after_too_many_wrong_passwords(client: Client) -> None:
    for username in ("admin", "viewer", "root", "ops", "test"):
        log_in(client, username, "guess", "10.0.0.1")
    locked = log_in(client, "viewer", PASSWORD, "10.0.0.1")
    assert locked.status_code == 429
    assert LOCKED in locked.content.decode()
    assert log_in(client, "viewer", PASSWORD, "10.0.0.2").status_code == 302


def test_logging_in_forgives_the_account_its_mistakes(client: Client) -> None:
    for _ in range(2):
        log_in(client, "viewer", "guess", "10.0.0.1")
    assert log_in(client, "viewer", PASSWORD, "10.0.0.1").status_code == 302
    client.post("/logout/")
    for _ in range(2):
        log_in(client, "viewer", "guess", "10.0.0.2")
    assert log_in(client, "viewer", PASSWORD, "10.0.0.2").status_code == 302


def test_the_admin_login_page_is_limited_too(client: Client) -> None:
    for _ in range(3):
        log_in(client, "admin", "guess", "10.0.0.1", path="/admin/login/")
    locked = log_in(client, "admin", PASSWORD, "10.0.0.2", path="/admin/login/")
    assert LOCKED in locked.content.decode()
    assert client.get("/admin/").status_code == 302
