"""Escalation in a real headless Chromium: an admin makes a policy with two steps (adding the
second row with the form's own button), attaches it to a rule, and the incident page says where
the escalation stands; the pages read well in light, dark and on a phone (screenshots under
tests/artifacts/escalation/)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page

from alerts import escalation_changes
from alerts.lifecycle import Observation, fire
from alerts.models import Channel, EscalationPolicy, Rule
from tests.alert_fixtures import make_rule
from tests.browser import join, log_in, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fits(page: Page) -> None:
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} runs {overflow} px off the side"


def setup() -> tuple[Channel, Channel, User]:
    first = Channel.objects.create(name="#payments-oncall", kind="log", config={})
    second = Channel.objects.create(name="payments leads hook", kind="log", config={})
    dave = User.objects.create_user("dave", is_staff=True)
    join(dave, "responder")  # a person named in a step has a role in the policy's project
    escalation_changes.set_address(None, dave, "dave@example.com", None)
    return first, second, dave


def test_an_admin_makes_a_two_step_policy_and_attaches_it_to_a_rule(
    chromium: Browser, live_site: str, no_defaults: None
) -> None:
    first, second, dave = setup()
    rule = make_rule(first, name="payments errors")
    make_user("admin")
    page = log_in(chromium, live_site, "admin")
    page.goto("/rules/")
    page.click("#escalation-link")
    page.wait_for_selector("#escalation-empty")
    screenshot(page, "escalation/list-empty-light")
    page.click("text=New policy")
    page.fill("#name", "Payments on-call")
    page.fill("#step-0-wait", "5")
    page.check(f'input[name="step-0-channels"][value="{first.id}"]')
    page.click("#add-step")
    page.wait_for_selector("#step-1-wait")
    assert page.input_value("#name") == "Payments on-call"  # kept across the re-shown form
    page.fill("#step-1-wait", "0")
    page.check(f'input[name="step-1-channels"][value="{second.id}"]')
    page.check(f'input[name="step-1-people"][value="{dave.id}"]')
    page.click("#save-policy")
    page.wait_for_selector("#step-1-wait-error")
    assert "greater than or equal to 1" in page.inner_text("#step-1-wait-error")
    screenshot(page, "escalation/form-error-light")
    page.fill("#step-1-wait", "15")
    page.press("#step-1-wait", "Enter")  # saves: Enter does not press the first step's Remove
    page.wait_for_selector("#policy-history")
    policy = EscalationPolicy.objects.get()
    assert page.url.endswith(f"/escalation/{policy.id}/")
    assert [s.wait_minutes for s in policy.steps.order_by("position")] == [5, 15]
    screenshot(page, "escalation/policy-light")

    page.goto(f"/rules/{rule.id}/")
    page.select_option("#escalation_policy", str(policy.id))
    page.click("#rule-form button[type=submit]")
    page.wait_for_url("**/rules/")
    assert Rule.objects.get(id=rule.id).escalation_policy_id == policy.id
    page.goto("/escalation/")
    row = page.inner_text(f"#policy-{policy.id}")
    assert "payments errors" in row and "dave" in row and "then 15 min" in row
    screenshot(page, "escalation/list-light")


def test_the_pages_read_in_dark_and_on_a_phone(
    chromium: Browser, live_site: str, no_defaults: None, notify_at_once: None
) -> None:
    first, second, dave = setup()
    steps = [
        {"wait_minutes": 5, "channels": [first.id]},
        {"wait_minutes": 15, "channels": [second.id], "people": [dave.id]},
    ]
    policy = escalation_changes.create(None, {"name": "Payments on-call", "repeat": 1, "steps": steps})
    rule = make_rule(first, escalation_policy=policy)
    alert = fire(rule, Observation("function:1", "payments", "charge", 0.5))
    make_user("admin")
    for name, options in {
        "light": {},
        "dark": {"color_scheme": "dark"},
        "phone": {"viewport": {"width": 390, "height": 844}},
    }.items():
        page = log_in(chromium, live_site, "admin", **options)
        for path, shot, ready in [
            ("/escalation/", "list", "#escalation-policies"),
            (f"/escalation/{policy.id}/", "policy", "#policy-form"),
            ("/escalation/people/", "people", "#addresses"),
            (f"/escalation/people/{dave.id}/", "address", "#address-form"),
            (f"/incidents/{alert.incident_id}/", "incident", "#escalation"),
        ]:
            page.goto(path)
            page.wait_for_selector(ready)
            if name == "phone":
                fits(page)
            screenshot(page, f"escalation/{shot}-{name}")
        assert "step 1 of 2, round 1 of 2" in page.inner_text("#escalation")
        page.context.close()
