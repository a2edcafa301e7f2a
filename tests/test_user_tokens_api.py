"""/api/v1/me/tokens: everybody manages their own API tokens; the token is shown once."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from monitoring.models import AuditEntry, UserToken
from tests.alert_fixtures import People, Person


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_anonymous_callers_get_401(db: None) -> None:
    anonymous = Client()
    assert anonymous.get("/api/v1/me/tokens").status_code == 401
    assert anonymous.post("/api/v1/me/tokens", {"name": "x"}, content_type="application/json").status_code == 401
    assert anonymous.delete("/api/v1/me/tokens/1").status_code == 401
    assert not UserToken.objects.exists()


@pytest.mark.parametrize("role", ["viewer", "responder", "admin"])
def test_every_role_creates_lists_and_revokes_its_own(people: People, role: str) -> None:
    person: Person = getattr(people, role)
    created = person.post("/api/v1/me/tokens", {"name": "deploy script"})
    assert created.status_code == 201, created.content
    raw = created.json()["token"]
    assert raw.startswith("rmu_") and created.json()["prefix"] == raw[:12]

    # The token acts as its person, with their role.
    me = Client()
    assert me.get("/api/v1/functions", headers=bearer(raw)).status_code == 200
    assert me.get("/api/v1/users", headers=bearer(raw)).status_code == (200 if role == "admin" else 403)

    listed = person.get("/api/v1/me/tokens").json()
    assert listed["count"] == 1 and listed["items"][0]["name"] == "deploy script"
    assert raw not in str(listed)  # shown in the create answer only
    assert me.get("/api/v1/me/tokens", headers=bearer(raw)).json()["items"][0]["last_used"] is not None

    assert person.delete(f"/api/v1/me/tokens/{listed['items'][0]['id']}").status_code == 204
    assert me.get("/api/v1/functions", headers=bearer(raw)).status_code == 401
    assert person.get("/api/v1/me/tokens").json()["count"] == 0
    entries = list(AuditEntry.objects.filter(kind="usertoken").values_list("action", "actor_name"))
    assert entries == [("revoked", person.user.username), ("created", person.user.username)]
    assert raw not in str(list(AuditEntry.objects.values("label", "before", "after")))


def test_a_token_creates_and_revokes_tokens_for_its_person(people: People) -> None:
    first = people.token_for(people.viewer)
    script = Client(headers=bearer(first))
    created = script.post("/api/v1/me/tokens", {"name": "second"}, content_type="application/json")
    assert created.status_code == 201
    assert UserToken.objects.get(id=created.json()["id"]).user == people.viewer.user
    assert script.delete(f"/api/v1/me/tokens/{created.json()['id']}").status_code == 204


def test_nobody_reaches_anothers_token_through_me(people: People) -> None:
    raw = people.token_for(people.responder)
    token_id = UserToken.objects.get().id
    assert people.admin.delete(f"/api/v1/me/tokens/{token_id}").status_code == 404
    assert people.viewer.delete(f"/api/v1/me/tokens/{token_id}").status_code == 404
    assert people.viewer.get("/api/v1/me/tokens").json()["count"] == 0
    assert Client().get("/api/v1/functions", headers=bearer(raw)).status_code == 200


def test_it_wants_a_name(people: People) -> None:
    for body in ({}, {"name": "   "}, {"name": "x" * 101}):
        answer = people.viewer.post("/api/v1/me/tokens", body)
        assert answer.status_code == 422 and answer.json()["field"] == "name"
    assert not UserToken.objects.exists()


def test_a_revoked_token_is_not_revoked_twice(people: People) -> None:
    token_id = people.viewer.post("/api/v1/me/tokens", {"name": "once"}).json()["id"]
    assert people.viewer.delete(f"/api/v1/me/tokens/{token_id}").status_code == 204
    assert people.viewer.delete(f"/api/v1/me/tokens/{token_id}").status_code == 404
    assert AuditEntry.objects.filter(action="revoked").count() == 1


def test_the_token_endpoints_are_documented(db: None, client: Client) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    assert set(paths["/api/v1/me/tokens"]) == {"get", "post"}
    assert set(paths["/api/v1/me/tokens/{user_token_id}"]) == {"delete"}
    assert set(paths["/api/v1/users"]) == {"get", "post"}
    assert set(paths["/api/v1/users/{user_id}"]) == {"get", "patch"}
    assert "/api/v1/users/invite" in paths and "/api/v1/users/{user_id}/tokens/{user_token_id}" in paths


def test_the_command_names_its_token_and_is_audited(people: People) -> None:
    out = StringIO()
    call_command("create_user_token", "carol", "--name", "nightly report", stdout=out)
    raw = out.getvalue().strip()
    listed = people.viewer.get("/api/v1/me/tokens").json()["items"]
    assert [t["name"] for t in listed] == ["nightly report"] and listed[0]["prefix"] == raw[:12]
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor_name, entry.label) == (
        "created",
        "system",
        f"carol: nightly report ({raw[:12]}…)",
    )
