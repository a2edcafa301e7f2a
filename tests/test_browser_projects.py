"""Projects in a real headless Chromium: the owner creates a project, adds a person and a team
to it; that person switches between their two projects from the header; screenshots of the
pages in light, dark and at phone width."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page

from monitoring.models import Membership, Project, Service, Team
from tests.browser import log_in, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 390, "height": 844}}
DARK = {"color_scheme": "dark"}


def accepting(page: Page) -> Page:
    page.on("dialog", lambda dialog: dialog.accept())
    return page


def test_the_owner_sets_up_a_project_and_a_member_switches_to_it(chromium: Browser, live_site: str) -> None:
    make_user("admin")
    dana = make_user("responder", "dana")  # a responder in the default project
    Service.objects.create(name="payments")
    Team.objects.create(name="ml on-call")
    owner = accepting(log_in(chromium, live_site, "admin"))
    owner.click("header .who >> text=Projects")
    owner.wait_for_url("**/projects/")
    owner.fill("#project-name", "AI platform")
    owner.click("text=Create project")
    owner.wait_for_url("**/projects/ai-platform/settings/")
    owner.fill("#member-username", "dana")
    owner.select_option("#member-role", "viewer")
    owner.click("#add-member button[type=submit]")
    owner.wait_for_selector("text=dana is a viewer in “AI platform”.")
    owner.select_option("#grant-team-name", "ml on-call")
    owner.select_option("#grant-role", "responder")
    owner.click("#grant-team button[type=submit]")
    owner.wait_for_selector("#granted-teams >> text=ml on-call")
    assert Membership.objects.get(user=dana, project__slug="ai-platform").role == "viewer"
    screenshot(owner, "projects/settings")
    owner.goto("/projects/")
    screenshot(owner, "projects/list")
    owner.goto("/teams/")
    screenshot(owner, "projects/teams")

    page = log_in(chromium, live_site, "dana")
    # Two projects: the header offers the switcher; "AI platform" comes first by name.
    assert page.input_value("#project-switch") == "ai-platform"
    assert page.inner_text("header .who").count("(viewer)") == 1
    page.goto("/functions/")
    page.select_option("#project-switch", "default")
    page.click(".project-switch button")
    page.wait_for_url("**/functions/")
    page.wait_for_selector("text=You are in “Default” now.")
    assert "(responder)" in page.inner_text("header .who")
    screenshot(page, "projects/header-switcher")

    for name, options in (("dark", DARK), ("phone", PHONE)):
        other = log_in(chromium, live_site, "admin", **options)
        other.goto("/projects/ai-platform/settings/")
        screenshot(other, f"projects/settings-{name}")
        other.goto("/projects/")
        screenshot(other, f"projects/list-{name}")
        other.goto("/teams/")
        screenshot(other, f"projects/teams-{name}")
        member = log_in(chromium, live_site, "dana", **options)
        screenshot(member, f"projects/header-switcher-{name}")


def test_the_owner_deletes_an_empty_project(chromium: Browser, live_site: str) -> None:
    make_user("admin")
    Project.objects.create(name="Old", slug="old")
    owner = accepting(log_in(chromium, live_site, "admin"))
    owner.goto("/projects/old/settings/")
    owner.click("#delete-project button")
    owner.wait_for_url("**/projects/")
    owner.wait_for_selector("text=Project “Old” deleted.")
    assert not Project.objects.filter(slug="old").exists()
    assert User.objects.count() == 1
