"""The dashboard in a real headless Chromium against the real ASGI server."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from playwright.sync_api import Browser

from monitoring.models import Function
from tests.browser import log_in, make_user, screenshot
from tests.conftest import call, now_iso

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def post_batch(base_url: str, token: str, batch: dict) -> None:
    request = urllib.request.Request(
        f"{base_url}/api/v1/ingest",
        data=json.dumps(batch).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 202


def test_it_shows_a_new_function_and_its_breaker_opening_without_a_reload(
    chromium: Browser,
    live_site: str,
    token: str,
) -> None:
    make_user("admin")
    page = log_in(chromium, live_site, "admin")
    page.wait_for_selector("#live-status[data-state=live]", timeout=5000)
    assert page.is_visible("#first-steps")
    screenshot(page, "overview-empty")

    page.goto("/functions/")
    page.wait_for_selector("#live-status[data-state=live]", timeout=5000)
    post_batch(
        live_site,
        token,
        {
            "instance": "pod-1",
            "calls": [call("charge"), call("charge", "failure")],
            "breakers": [{"function": "charge", "state": "closed", "ts": now_iso()}],
        },
    )
    row = page.wait_for_selector("#functions tr[data-function] >> text=charge", timeout=5000)
    assert row is not None
    screenshot(page, "functions")

    function = Function.objects.get(name="charge")
    page.goto(f"/functions/{function.id}/")
    page.wait_for_selector("#live-status[data-state=live]", timeout=5000)
    page.wait_for_function("() => !!(window.Chart && Chart.getChart('calls-chart'))", timeout=5000)
    assert page.inner_text("#breaker-badge") == "closed"
    url = page.url
    started = time.monotonic()
    post_batch(
        live_site, token, {"instance": "pod-1", "breakers": [{"function": "charge", "state": "open", "ts": now_iso()}]}
    )
    page.wait_for_selector("#breaker-badge .badge.open", timeout=2000)
    assert time.monotonic() - started < 2.0
    assert page.url == url
    assert "open on 1 of 1 instances" in page.inner_text("#breaker-text")
    page.wait_for_selector("#flips >> text=pod-1", timeout=5000)
    screenshot(page, "function")

    page.goto("/")
    page.wait_for_selector("#trouble >> text=charge", timeout=5000)
    assert page.inner_text('[data-figure="open_breakers"]') == "1"
    screenshot(page, "overview")


# Keeps every socket the page opens, so a test can drop them as a network blip would.
KEEP_SOCKETS = """
window.__sockets = [];
const Native = window.WebSocket;
window.WebSocket = function (url, protocols) {
  const socket = new Native(url, protocols);
  window.__sockets.push(socket);
  return socket;
};
"""


def test_it_shows_queues_and_reconnects_after_a_drop(chromium: Browser, live_site: str, token: str) -> None:
    make_user("viewer")
    page = log_in(chromium, live_site, "viewer")
    page.context.add_init_script(KEEP_SOCKETS)
    post_batch(
        live_site,
        token,
        {
            "queues": [
                {
                    "queue": "email_queue",
                    "ts": now_iso(),
                    "depth": 7,
                    "in_flight": 1,
                    "dead_letter": 0,
                    "oldest_age_s": 3.0,
                }
            ]
        },
    )
    page.goto("/queues/")
    page.wait_for_selector("#live-status[data-state=live]", timeout=5000)
    page.wait_for_selector("#queues >> text=email_queue", timeout=5000)
    screenshot(page, "queues")
    page.click("#queues >> text=email_queue")
    page.wait_for_url("**/queues/*/")
    page.wait_for_function("() => !!(window.Chart && Chart.getChart('depth-chart'))", timeout=5000)
    assert page.inner_text("#depth") == "7"
    assert page.inner_text("#zone-name") not in ("", "UTC") or page.evaluate("Time.zone") == "UTC"
    screenshot(page, "queue")

    page.wait_for_selector("#live-status[data-state=live]", timeout=5000)
    page.evaluate("() => window.__sockets.forEach((s) => s.close())")
    page.wait_for_selector("#live-status[data-state=reconnecting]", timeout=2000)
    post_batch(
        live_site,
        token,
        {
            "queues": [
                {
                    "queue": "email_queue",
                    "ts": now_iso(),
                    "depth": 9,
                    "in_flight": 1,
                    "dead_letter": 0,
                    "oldest_age_s": 3.0,
                }
            ]
        },
    )
    # Back with backoff, and the data missed meanwhile comes with the resync.
    page.wait_for_selector("#live-status[data-state=live]", timeout=10000)
    page.wait_for_function("() => document.getElementById('depth').textContent === '9'", timeout=5000)
    assert "updated" in page.inner_text("#freshness")


# A socket that never connects, as behind a proxy that drops websockets.
NO_SOCKETS = """
window.WebSocket = function () {
  const socket = {};
  setTimeout(() => socket.onclose && socket.onclose({ code: 1006 }), 10);
  return socket;
};
"""


def test_it_polls_while_the_socket_is_down(chromium: Browser, live_site: str, token: str) -> None:
    make_user("viewer")
    page = log_in(chromium, live_site, "viewer")
    page.context.add_init_script(NO_SOCKETS)
    page.goto("/functions/")
    page.wait_for_selector("#live-status[data-state=reconnecting]", timeout=5000)
    post_batch(live_site, token, {"calls": [call("refund")]})
    # No socket, so no delta: the row comes from polling the table's fragment (every 10 s).
    page.wait_for_selector("#functions tr[data-function] >> text=refund", timeout=15000)
    assert page.get_attribute("#live-status", "data-state") == "reconnecting"


def test_it_says_offline_while_the_site_does_not_answer_and_recovers(chromium: Browser, live_site: str) -> None:
    make_user("viewer")
    page = log_in(chromium, live_site, "viewer")
    page.context.add_init_script(NO_SOCKETS)
    page.goto("/functions/")
    page.wait_for_selector("#live-status[data-state=reconnecting]", timeout=5000)
    # The site stops answering: the poll fails, and the page says its figures are stale.
    page.route(f"{live_site}/**", lambda route: route.abort())
    page.wait_for_selector("#live-status[data-state=offline]", timeout=15000)
    assert page.is_visible("#offline-banner")
    assert "may be out of date (last updated at" in page.inner_text("#offline-banner")
    screenshot(page, "functions-offline")
    page.unroute(f"{live_site}/**")
    page.wait_for_selector("#live-status[data-state=reconnecting]", timeout=15000)
    assert not page.is_visible("#offline-banner")


def test_times_read_alike_on_every_page(chromium: Browser, live_site: str) -> None:
    """Within a day: how long ago; further off: a date and a 24-hour time; exact on hover."""
    make_user("viewer")
    page = log_in(chromium, live_site, "viewer", timezone_id="Europe/Paris", locale="en-US")
    page.goto("/functions/")
    shown = page.evaluate(
        """() => [
          Time.format(new Date(Date.now() - 5 * 60 * 1000)),
          Time.format(new Date(Date.now() - 3 * 3600 * 1000 - 20 * 60 * 1000)),
          Time.format(new Date(Date.now() + 20 * 60 * 1000 + 30 * 1000)),
          Time.format(new Date(Date.now() - 20 * 1000)),
          Time.format(new Date("2026-01-05T16:07:00Z")),
          Time.exact(new Date("2026-01-05T16:07:09Z")),
        ]"""
    )
    assert shown[:4] == ["5 min ago", "3 h 20 min ago", "in 20 min", "just now"]
    assert shown[4] == "Jan 5, 17:07"
    assert shown[5] == "Jan 5, 2026, 17:07:09 (Europe/Paris)"
