"""The issue's whole first setup, in a real headless Chromium against an empty install (no
demo): a new admin makes a service and its token, sends a first batch with it, adds a
Slack-format channel whose test notification a real local receiver gets, and makes a rule
from a template that notifies that channel, without leaving the browser (the batch aside,
which a service sends)."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from playwright.sync_api import Browser

from alerts.models import Channel, Rule
from monitoring.models import AuditEntry, Function
from tests.browser import log_in, make_user, screenshot
from tests.receivers import HttpReceiver

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def site_env(subprocess_env: dict[str, str], http_receiver: HttpReceiver) -> dict[str, str]:
    """The live site may send to the receiver on loopback, as a local install allows."""
    subprocess_env.update(http_receiver.env)
    return subprocess_env


def send_first_batch(site: str, token: str) -> int:
    batch = {"calls": [{"function": "charge", "ts": time.time(), "duration_ms": 120, "outcome": "success"}]}
    request = urllib.request.Request(
        f"{site}/api/v1/ingest",
        data=json.dumps(batch).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status


def test_a_new_admin_sets_everything_up_from_the_browser(
    chromium: Browser, site_env: dict[str, str], http_receiver: HttpReceiver, no_defaults: None, live_site: str
) -> None:
    make_user("admin")
    page = log_in(chromium, live_site, "admin")

    # A service and its token, shown once, and the token works at once.
    page.click("header nav >> text=Services")
    page.fill("#service-name", "payments")
    page.click("#create-service button[type=submit]")
    page.click("#create-token button")
    token = page.inner_text("#new-token").strip()
    assert token in page.inner_text("#snippet-curl")
    assert send_first_batch(live_site, token) == 202
    assert Function.objects.filter(name="charge", service__name="payments").exists()

    # A Slack-format channel, and its test notification arrives at the receiver.
    page.click("header nav >> text=Channels")
    page.click("text=New Slack channel")
    page.fill("#id_name", "payments slack")
    page.fill("#id_config_url", http_receiver.url("/services/T0/B0/secret-part"))
    page.click("#channel-form button[type=submit]")
    page.wait_for_selector("text=Channel “payments slack” created.")
    page.click("#send-test")
    page.wait_for_selector("#test-result >> text=Delivered.")
    [received] = http_receiver.requests
    assert received.path == "/services/T0/B0/secret-part"
    assert "text" in received.json()
    assert "secret-part" not in page.content()  # the Slack URL is a secret, masked on the page
    screenshot(page, "first-setup/channel-tested")

    # A rule from a template, notifying that channel.
    channel = Channel.objects.get(name="payments slack")
    page.click("header nav >> text=Rules")
    page.click("text=Error rate")
    page.fill("#name", "payments errors")
    page.fill("#service", "payments")
    page.check(f"input[name=channels][value='{channel.id}']")
    page.click("#preview-button")
    page.wait_for_selector("#preview-answer")
    page.click("#save-button")
    page.wait_for_url(f"{live_site}/rules/")
    rule = Rule.objects.get(name="payments errors")
    assert list(rule.channels.all()) == [channel]
    screenshot(page, "first-setup/rules")

    # Everything the admin did is on the audit page.
    page.click("header nav >> text=Audit")
    kinds = set(AuditEntry.objects.values_list("kind", flat=True))
    assert {"service", "ingesttoken", "channel", "rule"} <= kinds
    assert "payments errors" in page.inner_text("table.audit")
    screenshot(page, "first-setup/audit")

    # The audit page reads well in the dark and on a phone too.
    for name, options in (("dark", {"color_scheme": "dark"}), ("phone", {"viewport": {"width": 390, "height": 844}})):
        other = log_in(chromium, live_site, "admin", **options)
        other.goto("/audit/")
        other.wait_for_selector("table.audit")
        assert other.evaluate("document.documentElement.scrollWidth") <= other.viewport_size["width"]
        screenshot(other, f"first-setup/audit-{name}")
        other.context.close()
