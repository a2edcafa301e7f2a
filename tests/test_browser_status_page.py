"""A status page in a real headless Chromium: an admin creates one with two components,
publishes an alert as an incident with an update, and a visitor with no login reads it
(public names only), in light, dark and at phone width."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page

from alerts.models import StatusPage
from monitoring.models import CallBucket, CallHour, Function, Service
from tests.alert_fixtures import make_alert, make_rule
from tests.browser import log_in, make_user, screenshot
from tests.status_seed import CHARGE, INTERNAL_NAMES, REFUND, SERVICE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


def fits(page: Page) -> None:
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} runs {overflow} px off the side"


def seed() -> None:
    """Calls now (charge fine, refund failing some) and over the past weeks, some days without."""
    service = Service.objects.create(name=SERVICE)
    charge = Function.objects.create(service=service, name=CHARGE)
    refund = Function.objects.create(service=service, name=REFUND)
    now = timezone.now().replace(second=0, microsecond=0)
    CallBucket.objects.create(function=charge, minute=now, success=200)
    CallBucket.objects.create(function=refund, minute=now, success=90, failure=8)
    # Midnight UTC, so each day's hours stay inside its UTC day (the bars' days) at any hour the test runs.
    start = now.replace(hour=0, minute=0) - timedelta(days=89)
    for day in range(0, 89):
        if day % 11 == 5:
            continue  # no data that day: a grey bar
        for hour in (3, 9, 15):
            failure = 20 if (day % 17 == 3 and hour == 9) else 0
            at = start + timedelta(days=day, hours=hour)
            CallHour.objects.create(function=charge, hour=at.replace(minute=0), success=100, failure=failure)


def test_an_admin_publishes_an_incident_the_public_reads(chromium: Browser, live_site: str, no_defaults: None) -> None:
    seed()
    alert = make_alert(make_rule(service=SERVICE), service=SERVICE, subject=CHARGE)
    make_user("admin")
    admin = log_in(chromium, live_site, "admin")
    admin.click("nav >> text=Status pages")
    admin.wait_for_selector("#status-pages-empty >> text=No status page yet")
    screenshot(admin, "status/list-empty-light")
    admin.click("text=New status page")
    admin.fill("#title", "Acme status")
    admin.fill("#slug", "acme")
    admin.fill("#description", "How our shop is doing.")
    admin.click("button:has-text('Create status page')")
    admin.wait_for_selector(".flash >> text=Now add the components")

    admin.select_option("#component-service", SERVICE)
    admin.fill("#component-public_name", "Payments")
    admin.click("button:has-text('Add component')")
    admin.wait_for_selector(".flash >> text=“Payments” added")
    admin.select_option("#component-service", SERVICE)
    admin.fill("#component-function", CHARGE)
    admin.fill("#component-public_name", "Checkout")
    admin.click("button:has-text('Add component')")
    admin.wait_for_selector(".flash >> text=“Checkout” added")
    assert admin.locator("#components tbody tr").count() == 2

    admin.select_option("#incident-alert", str(alert.id))
    admin.fill("#incident-title", "Card payments failing for some customers")
    admin.fill("#incident-message", "We are looking into failed card payments.")
    admin.click("button:has-text('Publish incident')")
    admin.wait_for_selector(".flash >> text=published")
    admin.select_option("#update-state", "identified")
    admin.fill("#update-body", "A card provider is failing; we are switching to the backup.")
    admin.click("button:has-text('Post update')")
    admin.wait_for_selector("#incident-state-badge >> text=identified")
    screenshot(admin, "status/incident-light")
    admin.click("text=Acme status")
    admin.wait_for_selector("#components")
    screenshot(admin, "status/settings-light")
    page_id = StatusPage.objects.get().id

    for name, options in (("dark", {"color_scheme": "dark"}), ("phone", {"viewport": PHONE})):
        other = log_in(chromium, live_site, "admin", **options)
        other.goto(f"/status-pages/{page_id}/")
        other.wait_for_selector("#components")
        fits(other)
        screenshot(other, f"status/settings-{name}")
        other.goto("/status-pages/")
        screenshot(other, f"status/list-{name}")
        other.context.close()

    for name, options in (("light", {}), ("dark", {"color_scheme": "dark"}), ("phone", {"viewport": PHONE})):
        context = chromium.new_context(base_url=live_site, **options)
        visitor = context.new_page()
        visitor.goto("/status/acme/")
        visitor.wait_for_selector("#active-incidents >> text=Card payments failing for some customers")
        text = visitor.content()
        assert "we are switching to the backup" in text and "Checkout" in text and "Payments" in text
        for internal in INTERNAL_NAMES:
            assert internal not in text
        assert visitor.locator(".status-component").count() == 2
        assert visitor.locator(".status-component").first.locator(".bar").count() == 90
        assert visitor.locator(".status-component").first.locator(".bar.none").count() >= 8
        fits(visitor)
        screenshot(visitor, f"status/public-{name}")
        context.close()
