"""The alerts list of a person in two projects, in a real headless Chromium: a viewer in
one and a responder in the other sees both projects' alerts and none of a third project's,
and may retry the dead-lettered notices of the project they respond in only."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from alerts import lifecycle
from alerts.models import Alert, Channel, Delivery, Rule
from monitoring.models import Project, Service
from tests.browser import join, log_in, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fire(service: str, subject: str, channel: Channel) -> tuple[Alert, Delivery]:
    rule = Rule.objects.create(
        name=f"{subject} errors", metric="error_rate", threshold=0.2, severity="critical", service=service
    )
    observation = lifecycle.Observation(fingerprint=f"{service}/{subject}", service=service, subject=subject, value=0.5)
    alert = lifecycle.fire(rule, observation)
    assert alert is not None
    dead = Delivery.objects.create(
        alert=alert, channel=channel, event="firing", state="dead", attempts=5, last_error="connection refused"
    )
    return alert, dead


@pytest.fixture
def three() -> dict:
    ai = Project.objects.create(name="AI platform", slug="ai")
    search = Project.objects.create(name="Search", slug="search")
    channel = Channel.objects.create(name="ops log", kind="log")
    found = {}
    for service, subject, project in (
        ("payments", "charge", Project.objects.default()),
        ("llm", "complete", ai),
        ("search", "query", search),
    ):
        Service.objects.create(name=service, project=project)
        found[service] = fire(service, subject, channel)
    dana = make_user("viewer", "dana")  # a viewer in the default project (payments)
    join(dana, "responder", ai)
    return found


@pytest.mark.parametrize(
    "look,options",
    [
        ("light", {}),
        ("dark", {"color_scheme": "dark"}),
        ("phone", {"viewport": {"width": 390, "height": 844}}),
    ],
)
def test_a_person_in_two_projects_sees_both_and_retries_where_they_respond(
    chromium: Browser, live_site: str, three: dict, look: str, options: dict
) -> None:
    page = log_in(chromium, live_site, "dana", **options)
    page.goto("/alerts/")
    for service in ("payments", "llm"):
        page.wait_for_selector(f'#alerts tr[data-alert="{three[service][0].id}"]')
    assert page.locator(f'#alerts tr[data-alert="{three["search"][0].id}"]').count() == 0
    assert "search" not in page.inner_text("main")
    if look != "phone":  # the Project column, narrow screens leave it out
        for service, project in (("payments", "Default"), ("llm", "AI platform")):
            row = page.locator(f'#alerts tr[data-alert="{three[service][0].id}"]')
            assert row.locator(".project-name").inner_text() == project
    # Dead letters: both projects' listed; Retry only on the one of the project dana responds in.
    for service in ("payments", "llm"):
        assert page.locator(f'#dead tr[data-delivery="{three[service][1].id}"]').count() == 1
    assert page.locator(f'#dead tr[data-delivery="{three["search"][1].id}"]').count() == 0
    assert page.locator("[data-retry]").count() == 1
    assert page.locator(f'[data-retry="{three["llm"][1].id}"]').count() == 1
    screenshot(page, f"scopeevents/alerts-two-projects-{look}")
    if look == "light":
        page.click(f'[data-retry="{three["llm"][1].id}"]')
        page.wait_for_selector(f"#action-result >> text=Delivery #{three['llm'][1].id} queued again.")
        assert Delivery.objects.get(id=three["llm"][1].id).state != "dead"
