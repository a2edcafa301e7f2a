"""Trend cards follow new calls without a reload: the function page's, the service page's and
the overview's fleet trend, in a real headless Chromium on the live site."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page
from playwright.sync_api import Error as PlaywrightError

from monitoring.models import Function, IngestToken, Service
from tests.browser import log_in, make_user, screenshot
from tests.conftest import call
from tests.test_browser_service_page import report

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CALLS = '{selector} [data-trend="calls"] .value'


def calls_shown(page: Page, selector: str, count: int) -> None:
    """Wait until the section's calls card reads count (the page is never reloaded)."""
    css = CALLS.format(selector=selector)
    try:
        page.wait_for_function(
            "([css, count]) => document.querySelector(css)?.textContent.trim() === String(count)",
            arg=[css, count],
            timeout=10000,
        )
    except PlaywrightError:
        shown = page.locator(css).all_inner_texts()
        raise AssertionError(f"{css} shows {shown}, not {count}") from None


def test_new_calls_change_the_trend_cards_without_a_reload(chromium: Browser, live_site: str) -> None:
    payments = Service.objects.create(name="payments")
    _, token = IngestToken.issue(service=payments)
    report(live_site, token, [call("charge"), call("charge")])
    charge = Function.objects.get(name="charge")
    make_user("viewer")
    page = log_in(chromium, live_site, "viewer", viewport={"width": 1280, "height": 900})

    # Pages may first show a trend shared with other pages up to 10 s old; a delta asks anew.
    for url, selector, after in (
        (f"/services/{payments.id}/", "#service-trend", 4),
        (f"/functions/{charge.id}/", "#function-trend", 6),
        ("/", "#fleet-trend-part", 8),
    ):
        page.goto(url)
        page.wait_for_selector("#live-status[data-state=live]", timeout=5000)
        page.wait_for_selector(CALLS.format(selector=selector))
        page.evaluate("window.__notReloaded = true")
        report(live_site, token, [call("charge"), call("charge", "failure")])
        calls_shown(page, selector, after)
        assert page.evaluate("window.__notReloaded") is True
        name = url.strip("/").split("/")[0] or "overview"
        screenshot(page, f"trend-live/{name}")


@pytest.mark.parametrize(
    "options",
    [{"color_scheme": "dark"}, {"viewport": {"width": 390, "height": 844}}],
    ids=["dark", "phone"],
)
def test_the_live_cards_read_well(chromium: Browser, live_site: str, options: dict) -> None:
    payments = Service.objects.create(name="payments")
    _, token = IngestToken.issue(service=payments)
    report(live_site, token, [call("charge"), call("charge", "failure", duration_ms=400.0)])
    make_user("viewer")
    page = log_in(chromium, live_site, "viewer", **options)
    page.goto(f"/services/{payments.id}/")
    page.wait_for_selector("#live-status[data-state=live]", timeout=5000)
    report(live_site, token, [call("charge")])
    calls_shown(page, "#service-trend", 3)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, f"trend-live/service-{'dark' if 'color_scheme' in options else 'phone'}")
