"""Action links and the new channel kinds in a real headless Chromium: a visitor with no
login opens an ack link, confirms, and the incident's alert's timeline names them; the PagerDuty,
Teams and Discord forms read well in light, dark and on a phone."""

from __future__ import annotations

import pytest
from django.conf import settings
from playwright.sync_api import Browser

from alerts import action_links, lifecycle
from alerts.models import Alert, Incident
from tests.alert_fixtures import make_rule
from tests.browser import log_in, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOOKS = (("light", {}), ("dark", {"color_scheme": "dark"}), ("phone", {"viewport": {"width": 390, "height": 844}}))


@pytest.fixture
def site_env(subprocess_env: dict[str, str]) -> dict[str, str]:
    """Links signed here must verify there: the same SECRET_KEY in both processes."""
    subprocess_env["SECRET_KEY"] = settings.SECRET_KEY
    return subprocess_env


def link_path(alert: Alert, action: str, recipient: str) -> str:
    return action_links.url(alert.id, action, recipient).removeprefix(settings.SITE_URL)


def test_an_ack_link_asks_then_acknowledges_without_a_login(
    chromium: Browser, site_env: dict[str, str], no_defaults: None, live_site: str
) -> None:
    rule = make_rule(name="payments errors")
    alert = lifecycle.fire(rule, lifecycle.Observation("function:1", "payments", "charge", 0.5))
    assert alert is not None
    for name, options in LOOKS:
        Alert.objects.filter(id=alert.id).update(state="firing", acknowledged_at=None)
        # The link acts on the alert's incident: it fires again too.
        Incident.objects.filter(id=alert.incident_id).update(state="open", acknowledged_at=None, acknowledged_by=None)
        page = chromium.new_context(base_url=live_site, **options).new_page()
        path = link_path(alert, "acknowledge", action_links.email_recipient("oncall@example.org"))
        page.goto(path)
        page.wait_for_selector("#link-form")
        assert "oncall@example.org" in page.inner_text("#link-form")
        assert f"incident #{alert.incident_id} on payments/charge" in page.inner_text("#link-form")
        screenshot(page, f"action-links/confirm-{name}")
        alert.refresh_from_db()
        assert alert.state == "firing"  # opening the link changed nothing

        page.click("#link-form button[type=submit]")
        page.wait_for_selector("#link-done")
        screenshot(page, f"action-links/done-{name}")
        alert.refresh_from_db()
        assert alert.state == "acknowledged"
        assert alert.events.filter(action="acknowledged").last().actor_name == "oncall@example.org"

        answer = page.goto(path)
        assert answer is not None and answer.status == 409
        page.wait_for_selector("#link-refused >> text=already used")
        screenshot(page, f"action-links/refused-{name}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= page.viewport_size["width"], name
        page.context.close()


def test_the_new_channel_forms_read_well(
    chromium: Browser, site_env: dict[str, str], no_defaults: None, live_site: str
) -> None:
    make_user("admin")
    for name, options in LOOKS:
        page = log_in(chromium, live_site, "admin", **options)
        for kind in ("pagerduty", "teams", "discord"):
            page.goto(f"/channels/new/?kind={kind}")
            page.wait_for_selector("#channel-form")
            screenshot(page, f"channels/new-{kind}-{name}")
            page.fill("#id_name", f"{kind} paging")
            page.click("#channel-form button[type=submit]")
            page.wait_for_selector(".field-error")
            screenshot(page, f"channels/new-{kind}-errors-{name}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= page.viewport_size["width"], (kind, name)
        page.context.close()
