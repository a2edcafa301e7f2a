"""/api/v1/users: admins list, add, invite, change and deactivate people; nobody else may."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from monitoring.models import AuditEntry, UserToken
from tests.alert_fixtures import People, Person

NEW = {"username": "dana", "email": "dana@example.org", "role": "responder", "password": "a long passphrase 42"}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v1/users", None),
        ("post", "/api/v1/users", NEW),
        ("post", "/api/v1/users/invite", {"username": "erin"}),
        ("get", "/api/v1/users/{id}", None),
        ("patch", "/api/v1/users/{id}", {"role": "admin"}),
        ("post", "/api/v1/users/{id}/invite", None),
        ("get", "/api/v1/users/{id}/tokens", None),
        ("delete", "/api/v1/users/{id}/tokens/{token}", None),
    ],
)
def test_it_lets_only_admins_manage_people(people: People, method: str, path: str, body: dict | None) -> None:
    invited = User.objects.create_user("fred")
    invited.set_unusable_password()
    invited.save()
    token = UserToken.issue(user=invited, name="x")[0]
    path = path.format(id=invited.id, token=token.id)

    anonymous = getattr(Client(), method)(path, content_type="application/json")
    assert anonymous.status_code == 401
    for person in (people.viewer, people.responder):
        answer = getattr(person, method)(path, body) if body else getattr(person, method)(path)
        assert answer.status_code == 403, (person.user, answer.content)
        assert "admin" in answer.json()["detail"]
    answer = getattr(people.admin, method)(path, body) if body else getattr(people.admin, method)(path)
    assert answer.status_code in (200, 201, 204), answer.content
    # Nothing the refused callers asked for happened: exactly one change, by the admin.
    assert set(AuditEntry.objects.values_list("actor_name", flat=True)) <= {"alice"}


def test_it_lists_people_with_their_role_and_tokens(people: People) -> None:
    people.token_for(people.responder)
    answer = people.admin.get("/api/v1/users").json()
    assert answer["count"] == 3
    by_name = {p["username"]: p for p in answer["items"]}
    assert by_name["alice"]["role"] == "admin" and by_name["bob"]["role"] == "responder"
    assert by_name["carol"]["role"] == "viewer"
    assert by_name["bob"]["tokens"] == 1 and by_name["carol"]["tokens"] == 0
    assert "pbkdf2" not in str(answer) and "password" not in by_name["alice"]


def test_it_creates_a_person_who_logs_in(people: People) -> None:
    answer = people.admin.post("/api/v1/users", NEW)
    assert answer.status_code == 201, answer.content
    assert answer.json()["role"] == "responder" and answer.json()["password_set"] is True
    dana = User.objects.get(username="dana")
    assert dana.is_staff and not dana.is_superuser
    assert Client().login(username="dana", password=NEW["password"])
    entry = AuditEntry.objects.get(kind="user", object_id=str(dana.id))
    assert entry.action == "created" and entry.actor_name == "alice"
    assert entry.after == {"username": "dana", "email": "dana@example.org", "role": "responder", "active": True}
    assert NEW["password"] not in str(entry.after)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"password": "password"}, "password"),  # common
        ({"password": "short"}, "password"),
        ({"username": "Alice"}, "username"),  # taken, whatever the case
        ({"username": "no spaces please"}, "username"),
        ({"email": "not an address"}, "email"),
        ({"role": "owner"}, "role"),
    ],
)
def test_it_refuses_a_bad_person(people: People, change: dict, field: str) -> None:
    answer = people.admin.post("/api/v1/users", {**NEW, **change})
    assert answer.status_code == 422
    assert answer.json()["field"] == field
    assert not User.objects.filter(username=NEW["username"]).exists()
    assert not AuditEntry.objects.exists()


def test_an_invitation_answers_a_link_that_sets_a_password_once(people: People) -> None:
    answer = people.admin.post("/api/v1/users/invite", {"username": "erin", "email": "erin@example.org"})
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["person"]["password_set"] is False and body["person"]["role"] == "viewer"
    assert body["emailed"] is True and body["email_error"] == ""
    link = body["set_password_url"]
    assert link.startswith("http://testserver/set-password/")
    assert mail.outbox[0].to == ["erin@example.org"] and link in mail.outbox[0].body
    assert AuditEntry.objects.get(kind="user").action == "invited"
    assert link not in str(list(AuditEntry.objects.values("before", "after", "label")))

    erin = Client()
    form = erin.get(link, follow=True)
    assert b"Welcome, <strong>erin</strong>" in form.content
    done = erin.post(
        form.redirect_chain[-1][0],
        {"new_password1": "erin's long passphrase", "new_password2": "erin's long passphrase"},
    )
    assert done.status_code == 302 and done["Location"] == "/"
    assert erin.get("/api/v1/functions").status_code == 200  # logged in
    assert Client().get(link, follow=True).content.count(b"This link does not work") == 1


def test_an_invitation_without_email_still_answers_the_link(people: People) -> None:
    body = people.admin.post("/api/v1/users/invite", {"username": "erin"}).json()
    assert body["emailed"] is False and body["email_error"] == "no e-mail address given"
    assert body["set_password_url"].startswith("http://testserver/set-password/")
    assert not mail.outbox


def test_a_new_link_works_only_before_a_password_is_set(people: People) -> None:
    erin_id = people.admin.post("/api/v1/users/invite", {"username": "erin"}).json()["person"]["id"]
    again = people.admin.post(f"/api/v1/users/{erin_id}/invite")
    assert again.status_code == 201 and again.json()["set_password_url"]
    refused = people.admin.post(f"/api/v1/users/{people.admin.user.id}/invite")
    assert refused.status_code == 422 and "has set a password already" in refused.json()["detail"]


def test_it_changes_role_and_email(people: People) -> None:
    carol = people.viewer.user
    answer = people.admin.patch(f"/api/v1/users/{carol.id}", {"role": "admin", "email": "carol@example.org"})
    assert answer.status_code == 200, answer.content
    assert answer.json()["role"] == "admin" and answer.json()["email"] == "carol@example.org"
    carol.refresh_from_db()
    assert carol.is_superuser and carol.is_staff
    actions = dict(AuditEntry.objects.values_list("action", "after"))
    assert actions == {"role changed": {"role": "admin"}, "updated": {"email": "carol@example.org"}}
    # The new admin may manage people at once.
    assert people.viewer.get("/api/v1/users").status_code == 200


def test_the_last_active_admin_stays_an_admin(people: People) -> None:
    alice = people.admin.user
    for change, field in (({"role": "responder"}, "role"), ({"active": False}, "active")):
        answer = people.admin.patch(f"/api/v1/users/{alice.id}", change)
        assert answer.status_code == 422
        assert answer.json()["field"] == field
        assert "last active admin" in answer.json()["detail"]
    alice.refresh_from_db()
    assert alice.is_superuser and alice.is_active
    assert not AuditEntry.objects.exists()

    # With a second admin, either may step down; a deactivated admin does not count.
    people.admin.patch(f"/api/v1/users/{people.responder.user.id}", {"role": "admin"})
    assert people.admin.patch(f"/api/v1/users/{alice.id}", {"role": "viewer"}).status_code == 200
    bob = Person(User.objects.get(username="bob"))
    assert bob.patch(f"/api/v1/users/{alice.id}", {"active": False}).status_code == 200
    assert bob.patch(f"/api/v1/users/{bob.user.id}", {"active": False}).status_code == 422


def test_deactivating_stops_sessions_and_tokens_at_once(people: People) -> None:
    carol = people.viewer
    token = people.token_for(carol)
    assert Client().get("/api/v1/functions", headers=bearer(token)).status_code == 200
    assert carol.get("/api/v1/functions").status_code == 200

    answer = people.admin.patch(f"/api/v1/users/{carol.user.id}", {"active": False})
    assert answer.status_code == 200 and answer.json()["active"] is False
    assert carol.get("/api/v1/functions").status_code == 401
    assert carol.client.get("/").status_code == 302  # to the login form
    assert Client().get("/api/v1/functions", headers=bearer(token)).status_code == 401
    assert AuditEntry.objects.get().action == "deactivated"

    # Reactivated, the token works again; the old session stays ended.
    people.admin.patch(f"/api/v1/users/{carol.user.id}", {"active": True})
    assert Client().get("/api/v1/functions", headers=bearer(token)).status_code == 200
    assert carol.get("/api/v1/functions").status_code == 401
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["reactivated", "deactivated"]


def test_an_admin_sees_and_revokes_a_persons_tokens_but_never_the_token(people: People) -> None:
    raw = people.token_for(people.responder)
    bob = people.responder.user
    listed = people.admin.get(f"/api/v1/users/{bob.id}/tokens").json()
    assert listed["count"] == 1 and listed["items"][0]["prefix"] == raw[:12]
    assert raw not in str(listed)
    token_id = listed["items"][0]["id"]
    assert people.admin.delete(f"/api/v1/users/{people.viewer.user.id}/tokens/{token_id}").status_code == 404
    assert people.admin.delete(f"/api/v1/users/{bob.id}/tokens/{token_id}").status_code == 204
    assert Client().get("/api/v1/functions", headers=bearer(raw)).status_code == 401
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.kind, entry.actor_name) == ("revoked", "usertoken", "alice")
    assert raw not in str(entry.before) and entry.before["prefix"] == raw[:12]
