"""People's notification addresses keep to projects (issue 17): an admin reads and sets the
addresses of the people of their projects only; anyone else's answers 404 (names do not
leak), a fellow member's who is not theirs to set 403; an address's channel must be one of
the admin's projects."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from alerts.models import Channel, NotificationAddress
from monitoring.models import Project
from tests.browser import join

pytestmark = pytest.mark.django_db


def person(name: str, *roles: tuple[str, Project]) -> tuple[User, Client]:
    user = User.objects.create_user(name)
    for role, project in roles:
        join(user, role, project)
    client = Client()
    client.force_login(user)
    return user, client


def address(client: Client, user: User) -> int:
    return client.get(f"/api/v1/people/{user.id}/notification-address").status_code


def set_address(client: Client, user: User, body: dict) -> tuple[int, dict]:
    r = client.put(f"/api/v1/people/{user.id}/notification-address", body, content_type="application/json")
    return r.status_code, r.json()


@pytest.fixture
def two(no_defaults: None) -> dict:
    pay, ai = Project.objects.default(), Project.objects.create(name="AI platform", slug="ai")
    alice, alice_client = person("alice", ("admin", pay))
    bob, bob_client = person("bob", ("viewer", pay))
    carol, carol_client = person("carol", ("viewer", ai))
    return {
        "pay": pay,
        "ai": ai,
        "alice": (alice, alice_client),
        "bob": (bob, bob_client),
        "carol": (carol, carol_client),
        "ai_channel": Channel.objects.create(name="#ai-oncall", kind="log", config={}, project=ai),
        "pay_channel": Channel.objects.create(name="#pay-oncall", kind="log", config={}, project=pay),
    }


def test_an_admin_reaches_the_people_of_their_projects_only(two: dict) -> None:
    admin, (bob, _), (carol, _) = two["alice"][1], two["bob"], two["carol"]
    assert address(admin, bob) == 200
    assert set_address(admin, bob, {"email": "bob@example.com"})[0] == 200
    assert address(admin, carol) == 404
    assert set_address(admin, carol, {"email": "carol@example.com"})[0] == 404
    assert not NotificationAddress.objects.filter(user=carol).exists()

    listed = admin.get("/escalation/people/").content.decode()
    assert "bob" in listed and "carol" not in listed
    assert admin.get(f"/escalation/people/{carol.id}/").status_code == 404
    assert admin.get(f"/escalation/people/{bob.id}/").status_code == 200


def test_a_viewer_sets_only_their_own(two: dict) -> None:
    (alice, _), (bob, viewer), (carol, _) = two["alice"], two["bob"], two["carol"]
    assert address(viewer, alice) == 403  # a fellow member: there, but not theirs to read
    assert address(viewer, carol) == 404  # of another project: not there at all
    assert set_address(viewer, bob, {"email": "bob@example.com"})[0] == 200


def test_an_address_channel_comes_from_the_setters_projects(two: dict) -> None:
    admin, (bob, _) = two["alice"][1], two["bob"]
    status, body = set_address(admin, bob, {"channel": two["ai_channel"].id})
    assert status == 422 and "channel" in str(body)
    assert set_address(admin, bob, {"channel": two["pay_channel"].id}) == (
        200,
        {
            "user_id": bob.id,
            "username": "bob",
            "email": "",
            "channel": {"id": two["pay_channel"].id, "name": "#pay-oncall"},
        },
    )
    page = admin.get(f"/escalation/people/{bob.id}/").content.decode()
    assert "#pay-oncall" in page and "#ai-oncall" not in page
