"""The incident page in a real headless Chromium: a breaker and the error rate it causes in one
incident, acknowledged with the page's form; the list; light, dark and phone screenshots."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client
from playwright.sync_api import Browser

from alerts.evaluate import evaluate_all
from alerts.models import Alert, Incident
from tests.alert_fixtures import failures, make_rule, successes
from tests.browser import log_in, make_user, screenshot
from tests.conftest import Reporter

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def incident_of_two(client: Client, token: str) -> Incident:
    """The real path: a service reports failing calls and an open breaker; both alerts fire."""
    make_rule(threshold=0.2, window_minutes=5, min_calls=10)
    make_rule(name="breaker open", metric="breaker_open_s", op=">", threshold=0, min_calls=0, severity="high")
    breaker = {"function": "charge", "state": "open", "ts": datetime.now(UTC).isoformat()}
    assert Reporter(client, token).post({"calls": failures(6) + successes(4), "breakers": [breaker]}).status_code == 202
    evaluate_all()  # the breaker's alert fired at ingest already; the error rate's fires now
    assert Alert.objects.filter(state="firing").count() == 2
    return Incident.objects.get()


def test_a_responder_acknowledges_the_incident(
    chromium: Browser, live_site: str, client: Client, token: str, no_defaults: None
) -> None:
    incident = incident_of_two(client, token)
    make_user("responder")
    page = log_in(chromium, live_site, "responder")
    page.goto("/incidents/")
    page.wait_for_selector(f"tr[data-incident='{incident.id}']")
    screenshot(page, "incident-page/list-light")
    page.click(f"tr[data-incident='{incident.id}'] a")
    page.wait_for_selector("#incident-alerts")
    assert page.locator("#incident-alerts tbody tr").count() == 2
    assert "Open for" in page.inner_text("#incident-age")
    screenshot(page, "incident-page/open-light")
    page.fill("#ack-form input[name=reason]", "rolling back the deploy")
    page.click("#ack-form button[type=submit]")
    page.wait_for_selector(".messages, [role=status]", timeout=5000)
    assert f"Incident #{incident.id} acknowledged." in page.content()
    assert set(Alert.objects.values_list("state", flat=True)) == {"acknowledged"}
    assert "rolling back the deploy" in page.inner_text("#timeline")
    screenshot(page, "incident-page/acknowledged-light")


def test_dark_and_phone(chromium: Browser, live_site: str, client: Client, token: str, no_defaults: None) -> None:
    incident = incident_of_two(client, token)
    make_user("responder")
    dark = log_in(chromium, live_site, "responder", color_scheme="dark")
    dark.goto(f"/incidents/{incident.id}/")
    dark.wait_for_selector("#incident-alerts")
    screenshot(dark, "incident-page/open-dark")
    dark.goto("/incidents/")
    screenshot(dark, "incident-page/list-dark")
    phone = log_in(chromium, live_site, "responder", viewport={"width": 390, "height": 844})
    phone.goto(f"/incidents/{incident.id}/")
    phone.wait_for_selector("#incident-alerts")
    # Nothing wider than the screen but the scrolling tables.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "incident-page/open-phone")
    phone.goto("/incidents/")
    screenshot(phone, "incident-page/list-phone")
