"""Live pages update from server-rendered fragments: an ingest batch changes what an open page
shows, without a reload, into exactly what the server renders for that part."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from playwright.sync_api import Browser, Page, Request

from alerts.models import Alert, Rule
from monitoring.models import Function, UserToken
from queues.models import Queue
from tests.browser import log_in, make_user, screenshot
from tests.conftest import call, now_iso

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What the server renders at `url`, as the page would show it once swapped in: the parts it
# sends out of band taken out, times in the viewer's zone. Of `selector` only, if given.
SERVER_RENDERED = """
async ([url, selector]) => {
  const answer = await fetch(url, { headers: { "HX-Request": "true" } });
  const template = document.createElement("template");
  template.innerHTML = await answer.text();
  template.content.querySelectorAll("[hx-swap-oob]").forEach((el) => el.remove());
  Time.localize(template.content);
  return selector ? template.content.querySelector(selector).outerHTML : template.innerHTML;
}
"""


def post(base_url: str, path: str, token: str, body: dict) -> int:
    request = urllib.request.Request(
        f"{base_url}{path}",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return response.status


def open_live(page: Page, path: str) -> list[str]:
    """Opens a page, waits for its socket, and marks the document: a reload would lose the mark."""
    page.goto(path)
    page.wait_for_selector("#live-status[data-state=live]", timeout=5000)
    page.evaluate("() => { window.notReloaded = true; }")
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    return asked


def assert_shows_what_the_server_renders(page: Page, selector: str, url: str, part: str | None = None) -> None:
    """The element shows the fragment at url (or is its part, if given), once swaps settled."""
    expected = page.evaluate(SERVER_RENDERED, [url, part])
    assert expected.strip()
    shown = "document.querySelector(selector)." + ("outerHTML" if part else "innerHTML")
    page.wait_for_function(f"([selector, expected]) => {shown} === expected", arg=[selector, expected], timeout=5000)
    assert page.evaluate("() => window.notReloaded") is True


def test_a_batch_updates_a_function_row(chromium: Browser, live_site: str, token: str) -> None:
    post(live_site, "/api/v1/ingest", token, {"calls": [call("charge")], "instance": "pod-1"})
    charge = Function.objects.get(name="charge")
    make_user("viewer")
    page = log_in(chromium, live_site, "viewer")
    asked = open_live(page, "/functions/")
    part = f'tr[data-function="{charge.id}"]'
    row = f"#functions {part}"
    assert page.inner_text(f"{row} [data-field=breaker]") == "none"

    batch = {
        "instance": "pod-1",
        "calls": [call("charge", "failure"), call("charge", "failure")],
        "breakers": [{"function": "charge", "state": "open", "ts": now_iso()}],
    }
    assert post(live_site, "/api/v1/ingest", token, batch) == 202
    page.wait_for_selector(f"{row} [data-field=breaker] .badge.open", timeout=3000)
    page.wait_for_function(
        "(row) => document.querySelector(row + ' [data-field=calls]').textContent === '3'", arg=row, timeout=5000
    )
    assert page.inner_text(f"{row} [data-field=health]") == "unhealthy"
    assert_shows_what_the_server_renders(page, row, "/fragments/functions/table", part)
    assert any("/fragments/functions/" in url for url in asked)
    assert not any("/api/v1/functions" in url for url in asked)
    screenshot(page, "functions-after-batch")


def test_a_batch_updates_the_overview_figures(chromium: Browser, live_site: str, token: str) -> None:
    make_user("viewer")
    page = log_in(chromium, live_site, "viewer")
    open_live(page, "/")
    assert page.is_visible("#first-steps")
    assert page.inner_text('[data-figure="calls_5m"]') == "0"

    calls = [call("charge"), call("charge", "failure"), call("refund")]
    breakers = [{"function": "charge", "state": "open", "ts": now_iso()}]
    assert post(live_site, "/api/v1/ingest", token, {"calls": calls, "breakers": breakers}) == 202
    page.wait_for_function("() => document.querySelector('[data-figure=calls_5m]').textContent === '3'", timeout=5000)
    page.wait_for_selector("#trouble >> text=charge", timeout=5000)
    assert page.inner_text('[data-figure="open_breakers"]') == "1"
    assert "bad" in page.get_attribute('[data-card="open_breakers"]', "class")
    # Something reported: the first steps made way.
    assert page.is_hidden("#first-steps")
    assert_shows_what_the_server_renders(page, "#figures", "/fragments/overview/figures")
    assert_shows_what_the_server_renders(page, "#trouble", "/fragments/overview/trouble")
    screenshot(page, "overview-after-batch")


def snapshot(depth: int) -> dict:
    return {"queue": "email_queue", "ts": now_iso(), "depth": depth, "in_flight": 2, "dead_letter": 1}


def test_a_batch_updates_a_queue_row(chromium: Browser, live_site: str, token: str) -> None:
    assert post(live_site, "/api/v1/ingest", token, {"queues": [snapshot(5)]}) == 202
    queue = Queue.objects.get(name="email_queue")
    make_user("viewer")
    page = log_in(chromium, live_site, "viewer")
    open_live(page, "/queues/")
    part = f'tr[data-queue="{queue.id}"]'
    row = f"#queues {part}"
    assert page.inner_text(f"{row} td:nth-child(3)") == "5"

    assert post(live_site, "/api/v1/ingest", token, {"queues": [snapshot(12)]}) == 202
    page.wait_for_function(
        "(row) => document.querySelector(row + ' td:nth-child(3)').textContent === '12'", arg=row, timeout=5000
    )
    assert page.inner_text(f"{row} td:nth-child(7)") == "+7"
    assert_shows_what_the_server_renders(page, row, "/fragments/queues/table", part)

    page.click(f"{row} a")
    page.wait_for_url(f"**/queues/{queue.id}/")
    page.wait_for_selector("#live-status[data-state=live]", timeout=5000)
    page.evaluate("() => { window.notReloaded = true; }")
    assert post(live_site, "/api/v1/ingest", token, {"queues": [snapshot(20)]}) == 202
    page.wait_for_function("() => document.getElementById('depth').textContent === '20'", timeout=5000)
    assert page.inner_text("#growth") == "+15"
    assert_shows_what_the_server_renders(page, "#queue-figures", f"/fragments/queues/{queue.id}/figures")


def test_a_batch_fires_an_alert_and_its_page_follows_its_state(chromium: Browser, live_site: str, token: str) -> None:
    # The install's default rules are gone once an earlier test emptied the database.
    Rule.objects.filter(metric="breaker_open_s").delete()
    Rule.objects.create(name="charge breaker open", metric="breaker_open_s", threshold=0, severity="critical")
    make_user("viewer")
    page = log_in(chromium, live_site, "viewer")
    open_live(page, "/alerts/?state=firing")
    assert "No firing alerts match." in page.inner_text("#alerts")

    breakers = [{"function": "charge", "state": "open", "ts": now_iso()}]
    assert post(live_site, "/api/v1/ingest", token, {"instance": "pod-1", "breakers": breakers}) == 202
    page.wait_for_selector("#alerts tr[data-alert]", timeout=5000)
    alert = Alert.objects.get(rule__name="charge breaker open")
    part = f'tr[data-alert="{alert.id}"]'
    row = f"#alerts {part}"
    assert page.inner_text(f"{row} [data-field=state]") == "firing"
    assert_shows_what_the_server_renders(page, row, "/fragments/alerts/table?state=firing", part)
    assert page.inner_text("#alerts-pager").startswith("1 in all")

    open_live(page, f"/alerts/{alert.id}/")
    assert page.inner_text("#state") == "firing"
    _, raw = UserToken.issue(user=make_user("responder"))
    assert post(live_site, f"/api/v1/alerts/{alert.id}/resolve", raw, {"comment": "fixed the provider"}) == 200
    page.wait_for_function("() => document.getElementById('state').textContent === 'resolved'", timeout=5000)
    page.wait_for_selector("#timeline >> text=fixed the provider", timeout=5000)
    assert_shows_what_the_server_renders(page, "#alert-state", f"/fragments/alerts/{alert.id}/state")
    assert_shows_what_the_server_renders(page, "#alert-history", f"/fragments/alerts/{alert.id}/history")


def test_a_busy_fleet_is_followed_at_each_parts_pace(chromium: Browser, live_site: str, token: str) -> None:
    make_user("viewer")
    page = log_in(chromium, live_site, "viewer")
    open_live(page, "/")
    page.wait_for_load_state("networkidle")  # the resync on connecting is done
    in_flight: set[Request] = set()
    most: dict[str, int] = {}
    asked: dict[str, int] = {}

    def path_of(request: Request) -> str:
        return request.url.split("?")[0]

    def started(request: Request) -> None:
        in_flight.add(request)
        path = path_of(request)
        asked[path] = asked.get(path, 0) + 1
        most[path] = max(most.get(path, 0), sum(1 for r in in_flight if path_of(r) == path))

    def ended(request: Request) -> None:
        in_flight.discard(request)

    page.on("request", started)
    page.on("requestfinished", ended)
    page.on("requestfailed", ended)
    began = time.monotonic()
    for _ in range(40):  # ten batches a second for four seconds
        assert post(live_site, "/api/v1/ingest", token, {"calls": [call("charge")]}) == 202
        time.sleep(0.1)
    page.wait_for_function("() => document.querySelector('[data-figure=calls_5m]').textContent === '40'", timeout=5000)
    seconds = time.monotonic() - began
    parts = [f"{live_site}/fragments/overview/{part}" for part in ("figures", "trouble", "backing-up")]
    for path in parts:
        # Every 2 s at most (and once more, asked again for a shared answer older than a delta).
        assert asked[path] <= seconds / 2 + 2, (path, asked[path], seconds)
        assert most[path] == 1, path
    page.remove_listener("request", started)
    page.remove_listener("requestfinished", ended)
    page.remove_listener("requestfailed", ended)
