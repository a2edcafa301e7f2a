"""Inhibition in a real headless Chromium: an inhibited alert's page says what inhibits it, the
dependent's service page says so too, and an admin sets dependencies on the settings page
(a cycle refused under the field); light, dark and on a phone."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from alerts.models import Alert
from monitoring.models import Function, Service
from tests.alert_fixtures import make_rule
from tests.browser import log_in, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOOKS = {
    "light": {"viewport": {"width": 1280, "height": 900}},
    "dark": {"viewport": {"width": 1280, "height": 900}, "color_scheme": "dark"},
    "phone": {"viewport": {"width": 390, "height": 844}},
}
REASON = "payments-db / Breaker open on query (checkout depends on payments-db)"


def seeded() -> dict:
    """checkout depends on payments-db, whose breaker alert inhibits checkout's error alert."""
    services = {name: Service.objects.create(name=name) for name in ("checkout", "payments-db", "search")}
    services["checkout"].depends_on.add(services["payments-db"])
    for service, name in (("checkout", "pay"), ("payments-db", "query")):
        Function.objects.create(service=services[service], name=name, last_seen=timezone.now())
    breaker = make_rule(name="Breaker open", metric="breaker_open_s", threshold=0, min_calls=0, service="*")
    errors = make_rule(name="Errors", severity="high", service="*")
    db_alert = Alert.objects.create(
        rule=breaker,
        fingerprint="function:2",
        service="payments-db",
        subject="query",
        metric="breaker_open_s",
        severity="critical",
        threshold=0,
        value=95,
        summary="breaker_open_s is 95 (> 0) on payments-db/query",
    )
    pay = Alert.objects.create(
        rule=errors,
        fingerprint="function:1",
        service="checkout",
        subject="pay",
        metric="error_rate",
        severity="high",
        threshold=0.2,
        value=0.8,
        summary="error_rate is 0.8 (> 0.2) on checkout/pay",
        inhibited_by=db_alert,
        inhibited_at=timezone.now(),
    )
    return {"services": services, "db_alert": db_alert, "pay": pay}


def fits(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("look", LOOKS)
def test_the_alert_page_and_the_service_page_say_what_inhibits(chromium: Browser, live_site: str, look: str) -> None:
    found = seeded()
    make_user("responder")
    page = log_in(chromium, live_site, "responder", **LOOKS[look])
    page.goto(f"/alerts/{found['pay'].id}/")
    shown = page.locator("#inhibited")
    expect(shown).to_contain_text(f"Inhibited by {REASON}")
    expect(shown).to_contain_text("it is not notified while that alert is open")
    assert fits(page)
    screenshot(page, f"inhibition/alert-{look}")
    shown.get_by_role("link").click()
    expect(page).to_have_url(f"{live_site}/alerts/{found['db_alert'].id}/")

    page.goto("/alerts/?state=firing")
    expect(page.locator(f'tr[data-alert="{found["pay"].id}"] .badge.inhibited')).to_be_visible()
    screenshot(page, f"inhibition/list-{look}")

    page.goto(f"/services/{found['services']['checkout'].id}/")
    expect(page.locator("#depends-on")).to_contain_text("payments-db")
    expect(page.locator("#depends-on")).to_contain_text("Breaker open on query")
    expect(page.locator("#open-alerts")).to_contain_text(f"Not notified: inhibited by {REASON}")
    assert fits(page)
    page.locator("#service-dependencies").scroll_into_view_if_needed()
    screenshot(page, f"inhibition/service-{look}")


@pytest.mark.parametrize("look", LOOKS)
def test_an_admin_sets_dependencies_and_is_refused_a_cycle(chromium: Browser, live_site: str, look: str) -> None:
    found = seeded()
    services = found["services"]
    make_user("admin")
    page = log_in(chromium, live_site, "admin", **LOOKS[look])
    page.goto(f"/services/{services['payments-db'].id}/settings/")
    form = page.locator("form#service-dependencies")
    # checkout depends on payments-db: choosing it here would be a cycle, so it cannot be ticked.
    expect(form.get_by_label("checkout (depends on it)")).to_be_disabled()
    form.get_by_label("search").check()
    form.get_by_role("button", name="Save dependencies").click()
    expect(page.locator("ul.flash")).to_contain_text("“payments-db” depends on “search”")
    assert list(services["payments-db"].depends_on.values_list("name", flat=True)) == ["search"]
    expect(page.locator("#history")).to_contain_text("depends on search, was nothing")

    # payments-db depends on search now: search may not depend on payments-db.
    page.goto(f"/services/{services['search'].id}/settings/")
    form = page.locator("form#service-dependencies")
    expect(form.get_by_label("payments-db (depends on it)")).to_be_disabled()
    # A stale page (another admin's change since it loaded) would still send it: the server refuses.
    form.get_by_label("payments-db (depends on it)").evaluate("box => { box.disabled = false; box.checked = true; }")
    form.get_by_role("button", name="Save dependencies").click()
    error = page.locator("#depends_on-error")
    expect(error).to_contain_text("“payments-db” depends on “search” already (payments-db → search)")
    expect(page.locator("fieldset.dependencies")).to_have_attribute("aria-invalid", "true")
    assert fits(page)
    form.scroll_into_view_if_needed()
    screenshot(page, f"inhibition/settings-{look}")
