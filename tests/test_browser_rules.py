"""An admin creates a rule from a template in a real headless Chromium, with its preview."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page

from alerts.models import Channel, Rule
from monitoring.models import CallBucket, Function, Service
from tests.browser import log_in, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def seed_history() -> None:
    """payments/charge failed hard twice in the last two hours; fine the rest of the time."""
    service = Service.objects.create(name="payments")
    charge = Function.objects.create(service=service, name="charge", last_seen=timezone.now())
    now = timezone.now().replace(second=0, microsecond=0)
    buckets = []
    for ago in range(0, 180):
        failing = 55 <= ago <= 69 or 20 <= ago <= 34
        failure, success = (9, 1) if failing else (0, 10)
        buckets.append(
            CallBucket(function=charge, minute=now - timedelta(minutes=ago), success=success, failure=failure)
        )
    CallBucket.objects.bulk_create(buckets)


def test_an_admin_creates_a_rule_from_a_template_after_its_preview(chromium: Browser, live_site: str) -> None:
    Rule.objects.all().delete()
    Channel.objects.all().delete()
    seed_history()
    channel = Channel.objects.create(name="ops log", kind="log")
    make_user("admin")
    page = log_in(chromium, live_site, "admin")

    page.goto("/rules/")
    page.wait_for_selector("#rules-empty")
    page.click("text=Error rate")
    page.wait_for_url("**/rules/new/?template=error-rate")
    assert page.input_value("#threshold") == "0.05"
    assert page.input_value("#metric") == "error_rate"
    page.fill("#name", "payments errors")
    page.fill("#service", "payments")
    page.check(f"input[name=channels][value='{channel.id}']")

    page.click("#preview-button")
    page.wait_for_selector("#preview-answer", timeout=15000)
    answer = page.inner_text("#preview-answer")
    assert "Would have fired 2 times on 1 subject" in answer
    assert "charge" in answer
    screenshot(page, "rules/form-preview")

    page.click("#save-button")
    page.wait_for_url(f"{live_site}/rules/")
    assert "Rule “payments errors” created." in page.inner_text("ul.flash")
    rule = Rule.objects.get(name="payments errors")
    assert rule.metric == "error_rate" and rule.threshold == 0.05 and rule.service == "payments"
    assert list(rule.channels.all()) == [channel]
    row = page.locator(f'tr[data-rule="{rule.id}"]')
    assert "payments errors" in row.inner_text() and "ops log" in row.inner_text()
    screenshot(page, "rules/list")

    page.click(f'tr[data-rule="{rule.id}"] a')
    page.wait_for_selector("#rule-history >> text=admin created")
    screenshot(page, "rules/edit")


def test_a_bad_field_is_named_on_the_page(chromium: Browser, live_site: str) -> None:
    make_user("admin")
    page = log_in(chromium, live_site, "admin")
    page.goto("/rules/new/?template=p95-latency")
    page.fill("#window_minutes", "0")
    page.click("#save-button")
    page.wait_for_selector("#window_minutes-error")
    assert page.get_attribute("#window_minutes", "aria-invalid") == "true"
    assert page.input_value("#name") == "Slow calls (p95 latency)"
    screenshot(page, "rules/form-error")


@pytest.mark.parametrize(
    "look, options",
    [
        ("dark", {"color_scheme": "dark"}),
        ("phone", {"viewport": {"width": 390, "height": 844}}),
        ("phone-dark", {"viewport": {"width": 390, "height": 844}, "color_scheme": "dark"}),
    ],
)
def test_the_pages_in_the_dark_and_on_a_phone(chromium: Browser, live_site: str, look: str, options: dict) -> None:
    seed_history()
    rule = Rule.objects.create(
        name="payments errors", metric="error_rate", threshold=0.05, min_calls=1, service="payments"
    )
    Rule.objects.create(name="a disabled rule", metric="p95_ms", threshold=1000, enabled=False)
    make_user("admin")
    page: Page = log_in(chromium, live_site, "admin", **options)
    page.goto("/rules/")
    page.wait_for_selector(f'tr[data-rule="{rule.id}"]')
    assert not too_wide(page)
    screenshot(page, f"rules/list-{look}")
    page.goto(f"/rules/{rule.id}/")
    page.click("#preview-button")
    page.wait_for_selector("#preview-answer", timeout=15000)
    assert not too_wide(page)
    screenshot(page, f"rules/form-{look}")


TOO_WIDE = """() => {
    if (document.documentElement.scrollWidth <= window.innerWidth + 1) return [];
    const wide = [...document.querySelectorAll("body *")].filter(
        e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest(".table-wrap"));
    return wide.map(e => e.tagName + (e.id ? "#" + e.id : "") + "." + e.className).concat(["the document"]);
}"""


def too_wide(page: Page) -> list[str]:
    """What runs off the right of the window (the page would scroll sideways), if anything."""
    return page.evaluate(TOO_WIDE)
