"""Services in a real headless Chromium: an admin creates a service and a token, rotates it
with a grace period, and the real ingest endpoint takes both tokens until the old one's
grace period ends, then only the new one."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page

from monitoring.models import IngestToken, Service
from tests.browser import log_in, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def ingest(site: str, token: str) -> int:
    batch = {"calls": [{"function": "charge", "ts": time.time(), "duration_ms": 120, "outcome": "success"}]}
    request = urllib.request.Request(
        f"{site}/api/v1/ingest",
        data=json.dumps(batch).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def token_row(page: Page, prefix: str) -> str:
    return f'#tokens tr[data-token="{prefix}"]'


def test_a_rotated_token_and_its_replacement_both_work_through_the_grace_period(
    chromium: Browser, live_site: str
) -> None:
    make_user("admin")
    page = log_in(chromium, live_site, "admin")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/services/")
    page.wait_for_selector("#no-services")
    screenshot(page, "services/list-empty")

    page.fill("#service-name", "checkout")
    page.click("#create-service button[type=submit]")
    page.wait_for_selector("#no-tokens")
    assert page.inner_text("h1") == "checkout: settings"
    service = Service.objects.get(name="checkout")
    assert page.url == f"{live_site}/services/{service.id}/settings/"

    page.click("#create-token button")
    page.wait_for_selector("#new-token")
    old = page.inner_text("#new-token").strip()
    assert old.startswith("rmi_") and old in page.inner_text("#snippet-curl")
    page.click('[data-copy="#new-token"]')
    page.wait_for_selector('[data-copy="#new-token"] >> text=Copied')
    assert page.evaluate("navigator.clipboard.readText()") == old
    assert ingest(live_site, old) == 202
    screenshot(page, "services/service-token-created")

    page.reload()
    assert page.locator("#new-token").count() == 0
    assert old not in page.content() and "paste the token here" in page.inner_text("#snippet-curl")

    row = token_row(page, old[:12])
    page.select_option(f"{row} select[name=grace_minutes]", "1440")
    page.click(f"{row} .rotate button")
    page.wait_for_selector("#new-token")
    new = page.inner_text("#new-token").strip()
    assert new != old and new.startswith("rmi_")
    assert page.get_attribute(token_row(page, old[:12]), "data-state") == "expiring"
    assert "until" in page.inner_text(token_row(page, old[:12]))
    assert "replaced by" in page.inner_text("#history")

    # During the grace period the real endpoint takes both.
    assert ingest(live_site, old) == 202
    assert ingest(live_site, new) == 202

    # After it (its end moved into the past): only the new one, within a second (the site
    # keeps a token it looked up for half a second).
    IngestToken.objects.filter(prefix=old[:12]).update(expires=timezone.now() - timedelta(seconds=1))
    time.sleep(1)
    assert ingest(live_site, old) == 401
    assert ingest(live_site, new) == 202
    page.reload()
    assert page.get_attribute(token_row(page, old[:12]), "data-state") == "expired"
    screenshot(page, "services/service")

    # Revoking asks first, then the new token stops too.
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"{token_row(page, new[:12])} .revoke button")
    page.wait_for_selector(f'{token_row(page, new[:12])}[data-state="revoked"]')
    assert ingest(live_site, new) == 401

    page.goto("/services/")
    page.wait_for_selector("#services-table")
    assert "checkout" in page.inner_text("#services")
    screenshot(page, "services/list")


def test_the_pages_read_well_in_the_dark_and_on_a_phone(chromium: Browser, live_site: str) -> None:
    make_user("admin")
    for n in range(3):
        service = Service.objects.create(name=f"service-with-a-rather-long-name-{n}")
        IngestToken.issue(service=service)
    old, _ = IngestToken.issue(service=service)
    old.expires = timezone.now() + timedelta(days=1)
    old.save()
    for name, options in {
        "dark": {"color_scheme": "dark"},
        "phone": {"viewport": {"width": 390, "height": 844}},
        "phone-dark": {"viewport": {"width": 390, "height": 844}, "color_scheme": "dark"},
    }.items():
        page = log_in(chromium, live_site, "admin", **options)
        page.goto("/services/")
        page.wait_for_selector("#services-table")
        screenshot(page, f"services/list-{name}")
        page.goto(f"/services/{service.id}/settings/")
        page.click("#create-token button")
        page.wait_for_selector("#new-token")
        screenshot(page, f"services/service-{name}")
        # Nothing wider than the screen but the tables, which scroll in their own box.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= page.evaluate("window.innerWidth"), name
        page.context.close()
