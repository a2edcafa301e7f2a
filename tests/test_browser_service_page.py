"""A service's page in a real headless Chromium: its trend cards and chart follow the range its
URL names and switch by a click; the services list, the function page's trend cards and the
overview's fleet trend, light, dark and on a phone."""

from __future__ import annotations

import json
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page

from alerts.models import Alert
from monitoring.models import Breaker, CallBucket, Function, IngestToken, Service
from queues.models import Queue
from tests.browser import log_in, make_user, screenshot
from tests.conftest import call

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The service's calls chart: its x labels and the calls of each point, as Chart.js holds them.
CHART = """
() => {
  const chart = Chart.getChart(document.getElementById("service-calls-chart"));
  const errors = Chart.getChart(document.getElementById("service-errors-chart"));
  if (!chart || !errors || !chart.data.labels.length) return null;
  const sums = chart.data.labels.map((_, i) => chart.data.datasets.reduce((n, d) => n + (d.data[i] || 0), 0));
  return { labels: chart.data.labels, calls: sums, errors: errors.data.datasets[0].data };
}
"""
PHONE = {"viewport": {"width": 390, "height": 844}}


def report(base_url: str, token: str, calls: list[dict]) -> None:
    request = urllib.request.Request(
        f"{base_url}/api/v1/ingest",
        data=json.dumps({"calls": calls, "instance": "pay-1"}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert urllib.request.urlopen(request).status == 202


def seeded(site: str) -> Service:
    """payments: 3 calls of charge and 1 of refund now (1 failed), 8 calls a week and 3 hours ago; search apart."""
    payments = Service.objects.create(name="payments")
    _, raw = IngestToken.issue(service=payments)
    report(site, raw, [call("charge"), call("charge"), call("charge", "failure", duration_ms=400.0), call("refund")])
    charge = Function.objects.get(name="charge")
    week_ago = timezone.now().replace(second=0, microsecond=0) - timedelta(days=7, hours=3)
    CallBucket.objects.create(function=charge, minute=week_ago, success=8, latency_sum_ms=80, histogram={"141": 8})
    now = timezone.now()
    Breaker.objects.create(function=charge, instance="pay-1", state="open", since=now, updated=now)
    Queue.objects.create(service=payments, name="payouts_queue", last_seen=now)
    Alert.objects.create(
        service="payments", subject="charge", metric="error_rate", severity="high", threshold=0.05, fingerprint="f"
    )
    search = Service.objects.create(name="search")
    Function.objects.create(service=search, name="query")
    return payments


def drawn(page: Page) -> dict:
    page.wait_for_function(CHART)
    return page.evaluate(CHART)


def fits(page: Page) -> bool:
    """Nothing wider than the screen but the tables, which scroll in their own box."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_service_page_follows_its_range(chromium: Browser, live_site: str) -> None:
    payments = seeded(live_site)
    make_user("viewer")
    page = log_in(chromium, live_site, "viewer", viewport={"width": 1280, "height": 900})
    page.goto(f"/services/{payments.id}/")
    day = drawn(page)
    # 5 minutes a point over 24 hours; the calls just sent in the last point or the one before.
    assert len(day["labels"]) == 288 and sum(day["calls"]) == 4 and sum(day["calls"][-2:]) == 4
    assert max(e for e in day["errors"] if e is not None) == pytest.approx(25)
    assert page.locator(".ranges a.active").inner_text() == "24h"
    calls = page.inner_text('#service-trend [data-trend="calls"]')
    assert "4" in calls and "−50 % vs a week ago (8)" in calls
    assert page.inner_text('#service-trend [data-trend="error_rate"]').split("\n")[1] == "25.0 %"
    assert "charge" in page.inner_text("#functions") and "query" not in page.inner_text("#functions")
    assert "pay-1" in page.inner_text("#service-breakers") and "payouts_queue" in page.inner_text("#service-queues")
    assert "on charge" in page.inner_text("#open-alerts")
    screenshot(page, "service-page/service-24h")

    page.click(".ranges a:text-is('1h')")
    page.wait_for_url("**/?range=1h")
    hour = drawn(page)
    assert len(hour["labels"]) == 60 and sum(hour["calls"][-2:]) == 4
    assert page.inner_text("#range-title") == "Last hour"
    assert "none a week ago" in page.inner_text('#service-trend [data-trend="calls"]')
    screenshot(page, "service-page/service-1h")


def test_the_pages_read_well_in_the_dark_and_on_a_phone(chromium: Browser, live_site: str) -> None:
    payments = seeded(live_site)
    make_user("admin")
    charge = Function.objects.get(name="charge")
    for name, options in {
        "light": {"viewport": {"width": 1280, "height": 900}},
        "dark": {"viewport": {"width": 1280, "height": 900}, "color_scheme": "dark"},
        "phone": PHONE,
        "phone-dark": {**PHONE, "color_scheme": "dark"},
    }.items():
        page = log_in(chromium, live_site, "admin", **options)
        page.goto(f"/services/{payments.id}/")
        drawn(page)
        screenshot(page, f"service-page/service-{name}")
        assert fits(page), name
        page.goto("/services/")
        page.wait_for_selector("#services-table")
        screenshot(page, f"service-page/services-list-{name}")
        assert fits(page), name
        page.goto(f"/functions/{charge.id}/?range=24h")
        page.wait_for_selector("#function-trend .card")
        page.locator("#function-trend").screenshot(path=str(screenshot(page, f"service-page/function-{name}")))
        assert fits(page), name
        page.goto("/")
        page.wait_for_selector("#fleet-trend")
        screenshot(page, f"service-page/overview-{name}")
        assert fits(page), name
        page.context.close()
