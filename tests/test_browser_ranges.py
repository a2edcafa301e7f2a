"""The function page's charts follow the range its URL names, and switch range by a click."""

from __future__ import annotations

import json
import urllib.request

import pytest
from playwright.sync_api import Browser, Page

from monitoring.models import Function
from tests.browser import log_in, make_user, screenshot
from tests.conftest import call

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The calls chart's x labels and bars, as Chart.js holds them.
CHART = """
() => {
  const chart = Chart.getChart(document.getElementById("calls-chart"));
  if (!chart || !chart.data.labels.length) return null;
  const sums = chart.data.labels.map((_, i) => chart.data.datasets.reduce((n, d) => n + (d.data[i] || 0), 0));
  return { labels: chart.data.labels, calls: sums, datasets: chart.data.datasets.map((d) => d.label) };
}
"""


def report(base_url: str, token: str) -> None:
    calls = [call("charge"), call("charge", "failure"), call("charge", "timeout"), call("charge", retries=2)]
    request = urllib.request.Request(
        f"{base_url}/api/v1/ingest",
        data=json.dumps({"calls": calls}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert urllib.request.urlopen(request).status == 202


def drawn(page: Page) -> dict:
    page.wait_for_function(CHART)
    return page.evaluate(CHART)


def test_the_charts_show_the_range_the_url_names(chromium: Browser, live_site: str, token: str) -> None:
    make_user("viewer")
    report(live_site, token)
    function_id = Function.objects.get(name="charge").id
    page = log_in(chromium, live_site, "viewer", viewport={"width": 1280, "height": 900})
    page.goto(f"/functions/{function_id}/?range=7d")
    week = drawn(page)
    # An hour a point for seven days, ending with the one holding now: the calls just sent are in
    # the last point (or the one before, when the hour turned since).
    assert len(week["labels"]) == 168
    assert sum(week["calls"][-2:]) == 4 and sum(week["calls"]) == 4
    assert week["datasets"] == ["success", "failure", "timeout", "rejected"]
    assert page.locator(".ranges a.active").inner_text() == "7d"
    screenshot(page, "function-range-7d")

    page.click(".ranges a:text-is('1h')")
    page.wait_for_url("**/?range=1h")
    hour = drawn(page)
    assert len(hour["labels"]) == 60 and sum(hour["calls"][-2:]) == 4
    assert page.locator("h2", has_text="Last hour").count() == 1
    retries = page.evaluate("() => Chart.getChart(document.getElementById('retries-chart')).data.datasets[0].data")
    assert [r for r in retries[-2:] if r is not None] == [pytest.approx(0.5)]


def test_an_unknown_range_shows_the_last_hour(chromium: Browser, live_site: str, token: str) -> None:
    make_user("viewer")
    report(live_site, token)
    function_id = Function.objects.get(name="charge").id
    page = log_in(chromium, live_site, "viewer")
    page.goto(f"/functions/{function_id}/?range=2y")
    assert len(drawn(page)["labels"]) == 60
