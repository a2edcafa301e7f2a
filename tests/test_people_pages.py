"""/settings/people/: admins add, invite, change and deactivate people from the page."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from monitoring.models import AuditEntry, UserToken
from tests.alert_fixtures import People

PASSWORD = "a long passphrase 42"


def text(response: object) -> str:
    return response.content.decode()


@pytest.mark.parametrize("path", ["/settings/people/", "/settings/people/{id}/"])
def test_only_admins_open_the_people_pages(people: People, path: str) -> None:
    path = path.format(id=people.viewer.user.id)
    anonymous = Client().get(path)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    for person in (people.viewer, people.responder):
        refused = person.client.get(path)
        assert refused.status_code == 403 and "Not allowed" in text(refused)
    page = people.admin.client.get(path)
    assert page.status_code == 200
    assert "carol" in text(page)


@pytest.mark.parametrize("path", ["details/", "active/", "invite/"], ids=["details", "active", "invite"])
def test_only_admins_post_changes(people: People, path: str) -> None:
    path = f"/settings/people/{people.viewer.user.id}/{path}"
    for person in (people.viewer, people.responder):
        assert person.client.post(path, {"role": "admin"}).status_code == 403
    assert Client().post("/settings/people/", {"username": "x", "how": "invite"}).status_code == 302
    assert not AuditEntry.objects.exists() and not User.objects.filter(username="x").exists()


def test_the_list_shows_role_status_and_tokens(people: People) -> None:
    people.token_for(people.responder)
    page = text(people.admin.client.get("/settings/people/"))
    bob = re.search(rf'<tr data-person="{people.responder.user.id}">.*?</tr>', page, re.S).group(0)
    assert "responder" in bob and '<td class="num">1</td>' in bob
    assert "3 in all" in page


def test_the_list_pages_past_50(people: People) -> None:
    User.objects.bulk_create([User(username=f"user{n:03}") for n in range(60)])
    first = text(people.admin.client.get("/settings/people/"))
    assert "63 in all" in first and "user046" in first and "user047" not in first
    second = text(people.admin.client.get("/settings/people/?offset=50"))
    assert "user047" in second and "Previous" in second


def test_an_admin_creates_a_person_with_a_password(people: People) -> None:
    form = {"username": "dana", "email": "dana@example.org", "role": "responder", "password": PASSWORD, "how": "create"}
    answer = people.admin.client.post("/settings/people/", form, follow=True)
    assert answer.redirect_chain[-1][0] == f"/settings/people/{User.objects.get(username='dana').id}/"
    assert "Added dana (responder)" in text(answer)
    assert Client().login(username="dana", password=PASSWORD)
    assert "alice</strong> created" in text(answer)  # the person's own history


def test_a_bad_form_comes_back_with_the_field_named(people: People) -> None:
    form = {"username": "dana", "email": "nope", "role": "viewer", "password": "password", "how": "create"}
    answer = people.admin.client.post("/settings/people/", form)
    assert answer.status_code == 422
    assert 'aria-invalid="true" aria-describedby="email-error"' in text(answer)
    assert 'value="dana"' in text(answer)  # what was typed is kept
    form["email"] = ""
    answer = people.admin.client.post("/settings/people/", form)
    assert answer.status_code == 422 and 'id="password-error">This password is too common.' in text(answer)
    form["how"], form["password"] = "create", ""
    answer = people.admin.client.post("/settings/people/", form)
    assert "give a first password, or invite them instead" in text(answer)
    assert not User.objects.filter(username="dana").exists()


def test_an_invitation_shows_the_link_once_and_it_logs_the_person_in(people: People) -> None:
    form = {"username": "erin", "email": "erin@example.org", "role": "viewer", "password": "ignored", "how": "invite"}
    page = people.admin.client.post("/settings/people/", form, follow=True)
    erin = User.objects.get(username="erin")
    assert not erin.has_usable_password()  # the password typed is not used for an invitation
    link = re.search(r'<code id="invite-link" class="secret">([^<]+)</code>', text(page)).group(1)
    assert 'data-copy="#invite-link"' in text(page)
    assert "It was also e-mailed to erin@example.org" in text(page)
    assert mail.outbox[0].to == ["erin@example.org"] and link in mail.outbox[0].body
    again = people.admin.client.get(f"/settings/people/{erin.id}/")
    assert link not in text(again) and "New set-password link" in text(again)

    browser = Client()
    form_page = browser.get(link, follow=True)
    done = browser.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "erin's long passphrase", "new_password2": "erin's long passphrase"},
        follow=True,
    )
    assert done.redirect_chain[-1][0] == "/"
    assert "Welcome, erin: your password is set." in text(done)
    assert Client().login(username="erin", password="erin's long passphrase")
    actions = list(AuditEntry.objects.filter(object_id=str(erin.id)).values_list("action", "actor_name"))
    assert actions == [("password set", "erin"), ("invited", "alice")]
    assert "This link does not work" in text(Client().get(link, follow=True))


def test_a_weak_password_is_refused_on_the_set_password_page(people: People) -> None:
    answer = people.admin.client.post("/settings/people/", {"username": "erin", "how": "invite"}, follow=True)
    link = re.search(r'<code id="invite-link" class="secret">([^<]+)</code>', text(answer)).group(1)
    browser = Client()
    form_url = browser.get(link, follow=True).redirect_chain[-1][0]
    refused = browser.post(form_url, {"new_password1": "password", "new_password2": "password"})
    assert refused.status_code == 200 and "This password is too common." in text(refused)
    assert not User.objects.get(username="erin").has_usable_password()


def test_a_deactivated_persons_link_does_not_work(people: People) -> None:
    answer = people.admin.client.post("/settings/people/", {"username": "erin", "how": "invite"}, follow=True)
    link = re.search(r'<code id="invite-link" class="secret">([^<]+)</code>', text(answer)).group(1)
    erin = User.objects.get(username="erin")
    people.admin.client.post(f"/settings/people/{erin.id}/active/")
    assert "This link does not work" in text(Client().get(link, follow=True))


def test_an_admin_sets_a_role_and_email(people: People) -> None:
    carol = people.viewer.user
    answer = people.admin.client.post(
        f"/settings/people/{carol.id}/details/", {"role": "responder", "email": "carol@example.org"}, follow=True
    )
    assert "Saved carol (responder)." in text(answer)
    assert "role viewer → responder" in text(answer) and "email none → carol@example.org" in text(answer)
    carol.refresh_from_db()
    assert carol.is_staff and not carol.is_superuser and carol.email == "carol@example.org"
    refused = people.admin.client.post(f"/settings/people/{carol.id}/details/", {"role": "owner", "email": ""})
    assert refused.status_code == 422 and 'id="role-error"' in text(refused)


def test_the_last_admin_cannot_step_down_on_the_page(people: People) -> None:
    alice = people.admin.user
    answer = people.admin.client.post(f"/settings/people/{alice.id}/details/", {"role": "viewer", "email": ""})
    assert answer.status_code == 422
    assert 'id="role-error">alice is the last active admin: make someone else an admin first' in text(answer)
    answer = people.admin.client.post(f"/settings/people/{alice.id}/active/")
    assert answer.status_code == 422 and 'id="active-error">alice is the last active admin' in text(answer)
    alice.refresh_from_db()
    assert alice.is_superuser and alice.is_active


def test_an_admin_who_steps_down_lands_on_their_tokens(people: People) -> None:
    people.admin.client.post(f"/settings/people/{people.responder.user.id}/details/", {"role": "admin", "email": ""})
    answer = people.admin.client.post(
        f"/settings/people/{people.admin.user.id}/details/", {"role": "responder", "email": ""}
    )
    assert answer.status_code == 302 and answer["Location"] == "/settings/tokens/"


def test_deactivating_on_the_page_ends_the_persons_session(people: People) -> None:
    carol = people.viewer
    assert carol.client.get("/").status_code == 200
    page = people.admin.client.get(f"/settings/people/{carol.user.id}/")
    assert 'data-confirm="Deactivate carol?' in text(page)
    answer = people.admin.client.post(f"/settings/people/{carol.user.id}/active/", follow=True)
    assert "Deactivated carol: their sessions ended" in text(answer)
    assert carol.client.get("/").status_code == 302
    answer = people.admin.client.post(f"/settings/people/{carol.user.id}/active/", follow=True)
    assert "Reactivated carol" in text(answer)
    assert carol.client.get("/").status_code == 302  # logged out for good: they log in again


def test_an_admin_sees_a_persons_tokens_and_revokes_one(people: People) -> None:
    raw = people.token_for(people.responder)
    token = UserToken.objects.get()
    page = text(people.admin.client.get(f"/settings/people/{people.responder.user.id}/"))
    assert f"<code>{raw[:12]}…</code>" in page and raw not in page
    answer = people.admin.client.post(
        f"/settings/people/{people.responder.user.id}/tokens/{token.id}/revoke/", follow=True
    )
    assert "Revoked bob’s token" in text(answer)
    assert Client().get("/api/v1/functions", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    # Another person's row does not reach it.
    other = people.admin.client.post(f"/settings/people/{people.viewer.user.id}/tokens/{token.id}/revoke/")
    assert other.status_code == 404
