"""Channels in a real headless Chromium: an admin creates a webhook channel, sends it a test
that a real local receiver gets, and reads the receiver's answer on the page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from alerts.models import Channel, Delivery
from alerts.transports.webhook import verify_signature
from monitoring.models import AuditEntry
from tests.alert_fixtures import make_rule
from tests.browser import log_in, make_user, screenshot
from tests.receivers import HttpReceiver

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 390, "height": 844}}


@pytest.fixture
def site_env(subprocess_env: dict[str, str], http_receiver: HttpReceiver) -> dict[str, str]:
    """The live site may send to the receiver on loopback, as a local install allows."""
    subprocess_env.update(http_receiver.env)
    return subprocess_env


def test_an_admin_creates_a_webhook_channel_and_its_test_arrives(
    chromium: Browser, site_env: dict[str, str], http_receiver: HttpReceiver, no_defaults: None, live_site: str
) -> None:
    make_user("admin")
    page = log_in(chromium, live_site, "admin")
    page.goto("/channels/")
    page.wait_for_selector("text=No channels yet.")
    page.click("text=New Webhook channel")
    page.fill("#id_name", "ops hook")
    page.fill("#id_config_url", "ftp://example.org/hook")
    page.click("#channel-form button[type=submit]")
    # The form names the bad field and keeps what was typed.
    page.wait_for_selector("#id_config_url-error >> text=must start with http:// or https://")
    assert page.get_attribute("#id_config_url", "aria-invalid") == "true"
    assert page.input_value("#id_name") == "ops hook"
    secret = page.input_value("#id_config_secret")  # generated for a new webhook
    assert len(secret) >= 16

    page.fill("#id_config_url", http_receiver.url("/hook"))
    page.click("#channel-form button[type=submit]")
    page.wait_for_selector("text=Channel “ops hook” created.")
    channel = Channel.objects.get()
    assert channel.full_config()["secret"] == secret
    assert secret not in page.content()

    http_receiver.respond_with([202], body="queued by the receiver")
    page.click("#send-test")
    page.wait_for_selector("#test-result >> text=Delivered.")
    assert "HTTP 202 queued by the receiver" in page.inner_text("#test-result")
    assert "Took" in page.inner_text("#test-result")
    request = http_receiver.requests[0]
    assert request.json()["event"] == "test"
    assert verify_signature(
        secret, request.headers["X-Monitor-Timestamp"], request.body, request.headers["X-Monitor-Signature"]
    )
    assert Delivery.objects.get().state == "sent"

    page.click("form.reveal button")
    page.wait_for_selector(f"#secret-secret >> text={secret}")
    assert AuditEntry.objects.filter(action="revealed").count() == 1
    page.reload()
    page.wait_for_selector("#history >> text=revealed")


def test_the_pages_read_well_in_light_dark_and_on_a_phone(
    chromium: Browser, site_env: dict[str, str], http_receiver: HttpReceiver, no_defaults: None, live_site: str
) -> None:
    hook = Channel.objects.create(
        name="ops hook",
        kind="webhook",
        config={"url": http_receiver.url("/hooks/monitor?team=payments"), "secret": "a-long-enough-signing-secret"},
    )
    Channel.objects.create(
        name="payments slack", kind="slack", config={"url": "https://hooks.slack.com/services/T0/B0/x"}
    )
    mail = Channel.objects.create(
        name="on-call mail", kind="email", config={"to": ["oncall@example.org", "payments-team@example.org"]}
    )
    mail.disable("disabled by an admin")
    Channel.objects.create(name="server log", kind="log", rate_per_minute=120)
    make_rule(hook, name="payments errors", cooldown_minutes=60)
    make_rule(hook, name="checkout p95 latency", cooldown_minutes=15)
    Delivery.objects.create(channel=hook, event="firing", state="sent")
    Delivery.objects.create(
        channel=hook,
        event="firing",
        state="dead",
        attempts=6,
        last_error="connection to hooks.example.org failed: [Errno 111] Connection refused",
    )
    make_user("admin")
    for name, options in (("light", {}), ("dark", {"color_scheme": "dark"}), ("phone", PHONE)):
        page = log_in(chromium, live_site, "admin", **options)
        page.goto("/channels/")
        page.wait_for_selector("#channels")
        screenshot(page, f"channels/list-{name}")
        page.goto(f"/channels/{hook.id}/")
        page.click("#send-test")
        page.wait_for_selector("#test-result >> text=Delivered.")
        screenshot(page, f"channels/channel-{name}")
        page.goto(f"/channels/{hook.id}/edit/")
        screenshot(page, f"channels/edit-{name}")
        # Nothing wider than the screen: the page scrolls only inside tables.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= page.viewport_size["width"], name
        page.context.close()
