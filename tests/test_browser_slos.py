"""SLOs in a real headless Chromium: an admin makes one with the form, its page shows the
budget left, the burn per alert window and the budget chart; the pages read well in light,
dark and on a phone (screenshots under tests/artifacts/slos/)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page

from alerts.models import SLO
from tests.browser import log_in, make_user, screenshot
from tests.slo_fixtures import make_function, make_slo, seed_minutes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def chart_drawn(page: Page) -> None:
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('slo-chart-canvas'))")


def fits(page: Page) -> None:
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} runs {overflow} px off the side"


def test_an_admin_makes_an_slo_and_reads_its_budget(chromium: Browser, live_site: str, no_defaults: None) -> None:
    function = make_function()
    make_function(name="refund")
    now = timezone.now()
    # Two days of calls, 1 in 1,000 failing (1x), then a bad last hour (20x).
    seed_minutes(function, 2 * 24 * 60, calls=1000, bad=1, end=now - timedelta(hours=1))
    seed_minutes(function, 60, calls=1000, bad=20, end=now)
    make_user("admin")
    page = log_in(chromium, live_site, "admin")
    page.click("nav >> text=SLOs")
    page.wait_for_selector("#slos-empty")
    page.click("text=New SLO")
    page.fill("#name", "checkout succeeds")
    page.select_option("#service", "payments")
    page.fill("#function", "charge")
    page.fill("#target", "100")
    page.click("#save-button")
    page.wait_for_selector("#target-error")
    assert "less than 100" in page.inner_text("#target-error")
    screenshot(page, "slos/form-error-light")
    page.fill("#target", "99.9")
    page.click("#save-button")
    page.wait_for_selector("#slo-figures")
    slo = SLO.objects.get()
    assert page.url.endswith(f"/slos/{slo.id}/")
    assert "20x" in page.inner_text("#slo-burn")
    fast = page.locator('#slo-alerts tr[data-burn-alert="fast"]').inner_text()
    assert "at least 14.4x over 1 h and the last 5 min" in fast and "breaching" in fast
    chart_drawn(page)
    points = page.evaluate("() => Chart.getChart(document.getElementById('slo-chart-canvas')).data.datasets[0].data")
    assert points[0] == 100 and points[-1] < points[0]
    screenshot(page, "slos/slo-light")
    page.goto("/slos/")
    row = page.locator(f'#slos tr[data-slo="{slo.id}"]').inner_text()
    assert "checkout succeeds" in row and "20x" in row
    screenshot(page, "slos/list-light")


def test_the_pages_read_in_dark_and_on_a_phone(chromium: Browser, live_site: str, no_defaults: None) -> None:
    function = make_function()
    slo = make_slo(function, name="checkout succeeds")
    make_slo(make_function(name="refund"), name="refunds are fast", objective="latency", latency_ms=800, target=99)
    seed_minutes(function, 3 * 24 * 60, calls=100, bad=0, end=timezone.now() - timedelta(hours=6))
    seed_minutes(function, 6 * 60, calls=100, bad=1, end=timezone.now())
    make_user("viewer")
    for name, options in {
        "dark": {"color_scheme": "dark"},
        "phone": {"viewport": {"width": 390, "height": 844}},
    }.items():
        page = log_in(chromium, live_site, "viewer", **options)
        page.goto("/slos/")
        page.wait_for_selector("#slos-table")
        assert "New SLO" not in page.content()
        fits(page)
        screenshot(page, f"slos/list-{name}")
        page.goto(f"/slos/{slo.id}/")
        chart_drawn(page)
        fits(page)
        screenshot(page, f"slos/slo-{name}")
        page.context.close()
    admin = make_user("admin")
    assert admin.is_superuser
    page = log_in(chromium, live_site, "admin", viewport={"width": 390, "height": 844})
    page.goto(f"/slos/{slo.id}/edit/")
    fits(page)
    screenshot(page, "slos/form-phone")
