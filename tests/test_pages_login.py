from __future__ import annotations

import pytest
from django.test import Client

from tests.browser import PASSWORD, make_user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", ["/", "/functions/", "/functions/1/", "/queues/", "/queues/1/", "/alerts/", "/alerts/1/"]
)
def test_it_sends_anonymous_visitors_to_the_login_page(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"


def test_it_logs_in_through_the_form(client: Client) -> None:
    make_user("viewer")
    page = client.get("/login/?next=/queues/")
    assert b'name="username"' in page.content
    response = client.post("/login/", {"username": "viewer", "password": PASSWORD, "next": "/queues/"})
    assert response.status_code == 302
    assert response["Location"] == "/queues/"
    assert client.get("/queues/").status_code == 200


def test_it_refuses_a_wrong_password(client: Client) -> None:
    make_user("viewer")
    response = client.post("/login/", {"username": "viewer", "password": "not it"})
    assert response.status_code == 200
    assert b"did not match" in response.content
    assert client.get("/").status_code == 302


def test_it_logs_out_by_post_only(client: Client) -> None:
    client.force_login(make_user("viewer"))
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert client.get("/").status_code == 302
