"""/settings/tokens/: every logged-in person creates and revokes their own API tokens."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from monitoring.models import AuditEntry, UserToken
from tests.alert_fixtures import People, Person


def text(response: object) -> str:
    return response.content.decode()


def test_anonymous_visitors_go_to_the_login_form(db: None) -> None:
    answer = Client().get("/settings/tokens/")
    assert answer.status_code == 302 and answer["Location"] == "/login/?next=/settings/tokens/"
    assert Client().post("/settings/tokens/", {"name": "x"}).status_code == 302
    assert not UserToken.objects.exists()


@pytest.mark.parametrize("role", ["viewer", "responder", "admin"])
def test_every_role_creates_a_token_shown_once_and_revokes_it(people: People, role: str) -> None:
    person: Person = getattr(people, role)
    empty = text(person.client.get("/settings/tokens/"))
    assert "You have no API tokens." in empty and f"with your role ({role})" in empty

    page = person.client.post("/settings/tokens/", {"name": "deploy script"}, follow=True)
    raw = re.search(r'<code id="new-token" class="secret">([^<]+)</code>', text(page)).group(1)
    assert raw.startswith("rmu_") and 'data-copy="#new-token"' in text(page)
    assert Client().get("/api/v1/functions", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    again = text(person.client.get("/settings/tokens/"))
    assert raw not in again and f"<code>{raw[:12]}…</code>" in again and "deploy script" in again

    token = UserToken.objects.get()
    assert 'data-confirm="Revoke “deploy script”?' in again
    revoked = person.client.post(f"/settings/tokens/{token.id}/revoke/", follow=True)
    assert "Revoked “deploy script”: it stopped working." in text(revoked)
    assert "You have no API tokens." in text(revoked)
    assert Client().get("/api/v1/functions", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["revoked", "created"]


def test_a_token_needs_a_name(people: People) -> None:
    answer = people.viewer.client.post("/settings/tokens/", {"name": "  "})
    assert answer.status_code == 422
    assert 'aria-invalid="true" aria-describedby="name-error"' in text(answer)
    assert not UserToken.objects.exists()


def test_nobody_revokes_anothers_token_here(people: People) -> None:
    people.token_for(people.responder)
    token = UserToken.objects.get()
    assert people.admin.client.post(f"/settings/tokens/{token.id}/revoke/").status_code == 404
    assert token.user.username not in text(people.viewer.client.get("/settings/tokens/"))
    token.refresh_from_db()
    assert token.revoked is None


def test_the_new_token_is_shown_on_the_tokens_page_only(people: People) -> None:
    people.admin.client.post("/settings/tokens/", {"name": "ci"})
    assert "new-token" not in text(people.admin.client.get("/settings/people/"))
    assert "new-token" in text(people.admin.client.get("/settings/tokens/"))
    assert "new-token" not in text(people.admin.client.get("/settings/tokens/"))
