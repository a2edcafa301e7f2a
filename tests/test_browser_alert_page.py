"""An alert's page in a real headless Chromium: the chart with its threshold, acknowledging
with a reason and a reminder, the link to the function; light, dark and phone screenshots."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Browser, Page

from alerts.evaluate import evaluate_all
from alerts.models import Alert
from monitoring.models import Function
from tests.alert_fixtures import failures, make_rule, successes
from tests.browser import log_in, make_user, screenshot
from tests.conftest import Reporter

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The chart's datasets as Chart.js holds them on the page.
DATASETS = """() => {
  const chart = Chart.getChart(document.getElementById("alert-chart-canvas"));
  return chart ? chart.data.datasets.map(d => ({label: d.label, data: d.data, dash: d.borderDash || null})) : null;
}"""
DRAWN = """() => {
  const chart = Chart.getChart(document.getElementById("alert-chart-canvas"));
  return !!chart && chart.data.datasets[0].data.some(v => v !== null && v > 0);
}"""


def firing_alert(client: Client, token: str) -> Alert:
    """The real path: a service reports failing calls, a round of the rules fires the alert."""
    reporter = Reporter(client, token)
    assert reporter.post({"calls": failures(6) + successes(4)}).status_code == 202
    make_rule(threshold=0.2, window_minutes=5, min_calls=10)
    assert evaluate_all().fired == 1
    return Alert.objects.get()


def open_alert(page: Page, alert: Alert) -> dict[str, dict]:
    page.goto(f"/alerts/{alert.id}/")
    page.wait_for_selector("#live-status[data-state=live]", timeout=5000)
    page.wait_for_function(DRAWN, timeout=5000)
    return {d["label"]: d for d in page.evaluate(DATASETS)}


def test_the_chart_draws_the_metric_with_its_threshold(
    chromium: Browser, live_site: str, client: Client, token: str, no_defaults: None
) -> None:
    alert = firing_alert(client, token)
    make_user("viewer")
    page = log_in(chromium, live_site, "viewer")
    datasets = open_alert(page, alert)
    assert list(datasets) == ["error rate", "threshold", "fired"]
    # From 30 minutes before it fired to now, a point a minute: 31 or 32 of them.
    values = datasets["error rate"]["data"]
    assert 31 <= len(values) <= 32 and max(v for v in values if v is not None) == 0.6
    threshold = datasets["threshold"]
    assert set(threshold["data"]) == {0.2} and threshold["dash"] == [6, 4]
    assert [v for v in datasets["fired"]["data"] if v is not None] == [0.2]
    note = page.inner_text("#alert-chart-note")
    assert "Each point is one step (one minute) on its own, while the rule judges a window of 5 minutes" in note
    assert page.inner_text("#alert-age").startswith("Firing for less than a minute")
    screenshot(page, "alert-page/firing-light")

    page.click("#subject a")
    page.wait_for_url(f"**/functions/{Function.objects.get(name='charge').id}/")


def test_a_responder_acknowledges_with_a_reason_and_a_reminder(
    chromium: Browser, live_site: str, client: Client, token: str, no_defaults: None
) -> None:
    alert = firing_alert(client, token)
    make_user("responder")
    page = log_in(chromium, live_site, "responder", color_scheme="dark")
    open_alert(page, alert)
    screenshot(page, "alert-page/firing-dark")
    page.fill("#ack-form input[name=reason]", "card processor outage, watching it")
    page.select_option("#ack-form select", "60")
    page.click("[data-action=acknowledge]")
    page.wait_for_selector(
        "#timeline >> text=responder acknowledged: card processor outage, watching it "
        "(remind again if still firing after 60 min)",
        timeout=5000,
    )
    page.wait_for_selector("#ack-form", state="detached", timeout=5000)
    assert page.inner_text("#state") == "acknowledged"
    # The time reads relative to now once static/js/time.js has worded the swapped-in state:
    # "reminds again in 59 min if still firing".
    page.wait_for_function(
        "() => /reminds again in (59 min|1 h) if still firing$/.test(document.querySelector('#acked').innerText)",
        timeout=5000,
    )
    assert page.inner_text("#alert-age").endswith(", acknowledged.")
    acked = Alert.objects.get(id=alert.id)
    assert acked.state == "acknowledged" and acked.ack_expires_at is not None
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 17, 23)"
    screenshot(page, "alert-page/acknowledged-dark")


def test_a_queue_alert_charts_each_snapshot_against_the_threshold(
    chromium: Browser, live_site: str, client: Client, token: str, no_defaults: None
) -> None:
    now = timezone.now()
    snapshots = [
        {
            "queue": "email_queue",
            "ts": (now - timedelta(minutes=ago)).isoformat(),
            "depth": depth,
            "in_flight": 0,
            "dead_letter": 0,
        }
        for ago, depth in [(20, 10), (10, 50), (1, 150)]
    ]
    assert Reporter(client, token).post({"queues": snapshots}).status_code == 202
    make_rule(name="email backlog", metric="queue_depth", threshold=100, window_minutes=5, min_calls=0)
    assert evaluate_all().fired == 1
    make_user("viewer")
    page = log_in(chromium, live_site, "viewer")
    datasets = open_alert(page, Alert.objects.get())
    assert datasets["depth"]["data"] == [10, 50, 150] and set(datasets["threshold"]["data"]) == {100}
    assert "Each point is one snapshot" in page.inner_text("#alert-chart-note")
    screenshot(page, "alert-page/queue-light")


def test_the_page_reads_on_a_phone(
    chromium: Browser, live_site: str, client: Client, token: str, no_defaults: None
) -> None:
    alert = firing_alert(client, token)
    make_user("responder")
    page = log_in(chromium, live_site, "responder", viewport={"width": 390, "height": 844})
    open_alert(page, alert)
    # Nothing is wider than the phone (wide tables scroll inside their frame).
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "alert-page/firing-phone")
