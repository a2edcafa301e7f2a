"""Acting on alerts in a real headless Chromium: responders act, viewers only read."""

from __future__ import annotations

import urllib.request

import pytest
from playwright.sync_api import Browser

from alerts import lifecycle
from alerts.models import Alert, Channel, Delivery, Rule
from monitoring.models import UserToken
from tests.browser import log_in, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fire() -> Alert:
    rule = Rule.objects.create(name="charge errors", metric="error_rate", threshold=0.2, severity="critical")
    observation = lifecycle.Observation(fingerprint="payments/charge", service="payments", subject="charge", value=0.5)
    alert = lifecycle.fire(rule, observation)
    assert alert is not None
    return alert


def test_a_responder_acknowledges_and_the_timeline_names_them(chromium: Browser, live_site: str) -> None:
    alert = fire()
    channel = Channel.objects.create(name="ops log", kind="log")
    dead = Delivery.objects.create(
        alert=alert, channel=channel, event="firing", state="dead", attempts=5, last_error="connection refused"
    )
    make_user("responder")
    page = log_in(chromium, live_site, "responder")
    page.goto("/alerts/?state=firing")
    page.wait_for_selector(f'#alerts tr[data-alert="{alert.id}"]')
    screenshot(page, "alerts")

    page.click(f'[data-retry="{dead.id}"]')
    page.wait_for_selector(f"#action-result >> text=Delivery #{dead.id} queued again.")
    assert Delivery.objects.get(id=dead.id).state != "dead"

    page.goto(f"/alerts/{alert.id}/")
    page.wait_for_selector("#live-status[data-state=live]", timeout=5000)
    page.click("[data-action=acknowledge]")
    page.wait_for_selector("#timeline >> text=responder acknowledged", timeout=5000)
    # The state, the timeline and the buttons are fragments refreshed each by its own request.
    page.wait_for_selector("#state >> text=acknowledged", timeout=5000)
    assert page.inner_text("#state") == "acknowledged"
    # The buttons came back with the state: acknowledged, it can be unacknowledged, not acknowledged again.
    page.wait_for_selector("[data-action=unacknowledge]", timeout=5000)
    assert page.locator("[data-action=acknowledge]").count() == 0
    assert Alert.objects.get(id=alert.id).acknowledged_by.username == "responder"

    page.select_option("#suppress-form select", "240")
    page.fill("#suppress-form input[name=comment]", "deploying a fix")
    page.click("#suppress-form button")
    page.wait_for_selector("#timeline >> text=deploying a fix", timeout=5000)
    # Like the state, the suppression line is its own fragment and may come after the timeline.
    page.wait_for_selector("#suppressed >> text=suppressed until", timeout=5000)
    assert "suppressed until" in page.inner_text("#suppressed")

    page.fill("#comment-text", "looking at the payment provider")
    page.click("#comment-form button")
    page.wait_for_selector("#timeline >> text=looking at the payment provider", timeout=5000)
    screenshot(page, "alert")


def test_a_viewer_sees_no_buttons_on_a_phone_in_the_dark(chromium: Browser, live_site: str) -> None:
    alert = fire()
    make_user("viewer")
    page = log_in(
        chromium,
        live_site,
        "viewer",
        viewport={"width": 390, "height": 844},
        color_scheme="dark",
        timezone_id="Asia/Tokyo",
    )
    page.goto(f"/alerts/{alert.id}/")
    page.wait_for_selector("#timeline >> text=fired")
    assert page.locator("button[data-action], #suppress-form, #comment-form").count() == 0
    # Only the log-out button: nothing a viewer could act with.
    assert page.locator("main button").count() == 0
    assert page.inner_text("#zone-name") == "Asia/Tokyo"
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 17, 23)"
    # Another person's change (through the API of the same site) arrives live.
    _, raw = UserToken.issue(user=make_user("responder"))
    request = urllib.request.Request(
        f"{live_site}/api/v1/alerts/{alert.id}/acknowledge",
        data=b"{}",
        method="POST",
        headers={"Authorization": f"Bearer {raw}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
    page.wait_for_selector("#timeline >> text=responder acknowledged", timeout=5000)
    screenshot(page, "alert-viewer-phone-dark")
