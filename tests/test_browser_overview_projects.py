"""A person in two projects, in a real headless Chromium: the overview's row per project and
its switch, and a token narrowed to one project and read-only made on the tokens page;
screenshots in light, dark and at phone width."""

from __future__ import annotations

import pytest
from django.test import Client
from playwright.sync_api import Browser

from tests.browser import log_in, screenshot
from tests.test_overview_projects import seed_two_projects

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 390, "height": 844}}
DARK = {"color_scheme": "dark"}


def test_a_person_in_two_projects_sees_each_and_switches(chromium: Browser, live_site: str, client: Client) -> None:
    dana = seed_two_projects(client)["dana"]
    dana.set_password("correct horse battery staple")
    dana.save()
    page = log_in(chromium, live_site, "dana")
    rows = page.locator("#project-summaries tr")
    assert rows.count() == 2
    assert rows.nth(0).locator(".project-name").inner_text() == "AI platform"
    assert rows.nth(1).locator(".project-name").inner_text() == "Default"
    cells = [c.strip() for c in rows.nth(1).locator("td.num").all_inner_texts()]
    assert cells[:3] == ["2", "1", "1"]
    assert int(cells[3]) >= 1  # the one fired, and any the running site's own evaluation adds
    screenshot(page, "scopelive/overview")
    for name, options in (("dark", DARK), ("phone", PHONE)):
        other = log_in(chromium, live_site, "dana", **options)
        other.wait_for_selector("#project-summaries")
        screenshot(other, f"scopelive/overview-{name}")
    page.click("#project-summaries button[aria-label='Switch to Default']")
    page.wait_for_selector("text=You are in “Default” now.")
    assert "(responder)" in page.inner_text("header .who")
    assert page.locator("#project-summaries tr[data-project='default'] .badge", has_text="current").count() == 1


def test_a_person_makes_a_narrowed_read_only_token(chromium: Browser, live_site: str, client: Client) -> None:
    dana = seed_two_projects(client)["dana"]
    dana.set_password("correct horse battery staple")
    dana.save()
    page = log_in(chromium, live_site, "dana")
    page.goto("/settings/tokens/")
    page.fill("#name", "grafana")
    page.select_option("#project", "ai")
    page.check("#read_only")
    page.click("text=Create token")
    page.wait_for_selector("#new-token")
    raw = page.inner_text("#new-token")
    assert "the API in AI platform" in page.inner_text("#tokens") and "read-only" in page.inner_text("#tokens")
    screenshot(page, "scopelive/tokens")
    script = Client(headers={"Authorization": f"Bearer {raw}"})
    assert [row["name"] for row in script.get("/api/v1/services").json()] == ["llm"]
    assert script.post("/api/v1/services", {"name": "x"}, content_type="application/json").status_code == 403
    for name, options in (("dark", DARK), ("phone", PHONE)):
        other = log_in(chromium, live_site, "dana", **options)
        other.goto("/settings/tokens/")
        other.fill("#name", "x" * 101 if name == "dark" else "x")
        other.select_option("#project", "ai")
        screenshot(other, f"scopelive/tokens-{name}")
