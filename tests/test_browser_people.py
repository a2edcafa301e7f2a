"""People and personal tokens in a real headless Chromium: an admin adds a responder, who makes
and revokes an API token; screenshots of both pages in light, dark and at phone width."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page

from monitoring.models import AuditEntry, UserToken
from tests.browser import PASSWORD, log_in, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 390, "height": 844}}
DARK = {"color_scheme": "dark"}
CLIPBOARD = {"permissions": ["clipboard-read", "clipboard-write"]}


def api_status(base_url: str, token: str) -> int:
    request = urllib.request.Request(f"{base_url}/api/v1/functions", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def accepting(page: Page) -> Page:
    """Say OK to the confirm-before-submit questions (Playwright dismisses dialogs by default)."""
    page.on("dialog", lambda dialog: dialog.accept())
    return page


def test_an_admin_adds_a_responder_who_makes_and_revokes_a_token(chromium: Browser, live_site: str) -> None:
    make_user("admin")
    admin = accepting(log_in(chromium, live_site, "admin"))
    admin.click("header nav >> text=People")
    admin.wait_for_url("**/settings/people/")
    admin.fill("#username", "dana")
    admin.fill("#email", "dana@example.org")
    admin.select_option("#role", "responder")
    admin.fill("#password", PASSWORD)
    admin.click("button[value=create]")
    admin.wait_for_selector("text=Added dana (responder); they can log in now.")
    dana = User.objects.get(username="dana")
    assert dana.is_staff and not dana.is_superuser

    responder = accepting(log_in(chromium, live_site, "dana", **CLIPBOARD))
    responder.click("header .who >> text=dana")
    responder.wait_for_url("**/settings/tokens/")
    responder.fill("#name", "laptop scripts")
    responder.click("text=Create token")
    raw = responder.inner_text("#new-token").strip()
    assert raw.startswith("rmu_")
    responder.click("[data-copy='#new-token']")
    responder.wait_for_selector("[data-copy='#new-token'] >> text=Copied")
    assert responder.evaluate("navigator.clipboard.readText()") == raw
    assert api_status(live_site, raw) == 200
    screenshot(responder, "people/tokens-created")

    responder.reload()
    assert responder.locator("#new-token").count() == 0  # shown once
    responder.click(f"tr[data-token='{UserToken.objects.get().id}'] >> text=Revoke")
    responder.wait_for_selector("text=Revoked “laptop scripts”: it stopped working.")
    assert api_status(live_site, raw) == 401
    actions = list(AuditEntry.objects.values_list("actor_name", "action", "kind"))
    assert actions == [
        ("dana", "revoked", "usertoken"),
        ("dana", "created", "usertoken"),
        ("admin", "created", "user"),
    ]


def test_an_invited_person_sets_a_password_from_the_link(chromium: Browser, live_site: str) -> None:
    make_user("admin")
    admin = log_in(chromium, live_site, "admin")
    admin.goto("/settings/people/")
    admin.fill("#username", "erin")
    admin.click("button[value=invite]")
    link = admin.inner_text("#invite-link").strip()
    screenshot(admin, "people/person-invited")

    erin = chromium.new_context(base_url=live_site).new_page()
    erin.goto(link)
    erin.wait_for_selector("text=Welcome, erin.")
    screenshot(erin, "people/set-password")
    erin.fill("#id_new_password1", "erin's own long passphrase")
    erin.fill("#id_new_password2", "erin's own long passphrase")
    erin.click("text=Set password and log in")
    erin.wait_for_url(f"{live_site}/")
    assert "erin" in erin.inner_text("header .who")


def some_people() -> None:
    make_user("admin")
    make_user("responder")
    viewer = make_user("viewer")
    viewer.email = "viewer@example.org"
    viewer.save()
    invited = User.objects.create_user("a-new-colleague-with-a-long-name", "colleague@example.org")
    invited.set_unusable_password()
    invited.save()
    User.objects.create_user("gone", is_active=False)
    for name in ("deploy script", "nightly capacity report for the payments team"):
        UserToken.issue(user=User.objects.get(username="admin"), name=name)


@pytest.mark.parametrize(
    ("look", "options"), [("light", {}), ("dark", DARK), ("phone", PHONE), ("phone-dark", {**PHONE, **DARK})]
)
def test_the_pages_read_well(chromium: Browser, live_site: str, look: str, options: dict) -> None:
    some_people()
    page = log_in(chromium, live_site, "admin", **options)
    page.goto("/settings/people/")
    page.wait_for_selector("#people tr >> nth=4")
    screenshot(page, f"people/people-{look}")
    # Nothing spills sideways out of the page at any width.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.goto(f"/settings/people/{User.objects.get(username='responder').id}/")
    page.wait_for_selector("#access-heading")
    screenshot(page, f"people/person-{look}")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.goto("/settings/tokens/")
    page.fill("#name", "a token made for the screenshot")
    page.click("text=Create token")
    page.wait_for_selector("#new-token")
    screenshot(page, f"people/tokens-{look}")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
