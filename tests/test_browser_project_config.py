"""A person in two projects reads the rules of both, with a Project column, and edits one
whose form says which project it is in and offers only that project's channels (real
headless Chromium; screenshots light, dark and at phone width)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser

from alerts import escalation_changes, slo_changes
from alerts.api.escalation_schemas import PolicyIn, StepIn
from alerts.api.slo_schemas import SLOIn
from alerts.models import Channel, Rule, StatusPage
from monitoring.models import Project, Service
from tests.browser import PASSWORD, join, log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOOKS = {
    "light": {},
    "dark": {"color_scheme": "dark"},
    "phone": {"viewport": {"width": 390, "height": 844}},
}


def seed() -> Rule:
    Rule.objects.all().delete()
    Channel.objects.all().delete()
    payments, ai = Project.objects.default(), Project.objects.create(name="AI platform", slug="ai")
    for project, service in ((payments, "payments"), (ai, "llm")):
        Service.objects.create(name=service, project=project)
        channel = Channel.objects.create(name=f"{service} on-call", kind="log", project=project)
        rule = Rule.objects.create(
            name=f"{service} errors", metric="error_rate", threshold=0.2, service=service, project=project
        )
        rule.channels.set([channel])
    person = User.objects.create_user("both", password=PASSWORD)
    join(person, "admin")
    join(person, "admin", ai)
    return Rule.objects.get(name="llm errors")


@pytest.mark.parametrize("look", list(LOOKS))
def test_a_person_in_two_projects_sees_whose_each_rule_is(chromium: Browser, live_site: str, look: str) -> None:
    llm_rule = seed()
    page = log_in(chromium, live_site, "both", **LOOKS[look])

    page.goto("/rules/")
    table = page.inner_text("#rules-table")
    assert "payments errors" in table and "llm errors" in table
    assert "AI platform" in table and "Default" in table
    screenshot(page, f"scopeconfig/rules-{look}")

    page.goto(f"/rules/{llm_rule.id}/")
    assert "AI platform" in page.inner_text("#object-project")
    offered = page.inner_text("#rule-form")
    assert "llm on-call" in offered and "payments on-call" not in offered
    screenshot(page, f"scopeconfig/rule-form-{look}")


@pytest.mark.parametrize("look", list(LOOKS))
def test_a_person_in_two_projects_sees_whose_each_slo_policy_and_status_page_is(
    chromium: Browser, live_site: str, look: str
) -> None:
    seed()
    person = User.objects.get(username="both")
    for project in (Project.objects.default(), Project.objects.get(slug="ai")):
        service = Service.objects.get(project=project).name
        slo_changes.create(person, SLOIn(name=f"{service} ok", service=service, target=99.0).model_dump(), project)
        channels = list(Channel.objects.filter(project=project).values_list("id", flat=True))
        policy = PolicyIn(name=f"{service} paging", steps=[StepIn(wait_minutes=5, channels=channels)])
        escalation_changes.create(person, policy.model_dump(), project)
        StatusPage.objects.create(slug=service, title=f"{service} status", project=project)
    page = log_in(chromium, live_site, "both", **LOOKS[look])
    for path, table, shot in (
        ("/slos/", "#slos-table", "slos"),
        ("/escalation/", "#escalation-policies", "policies"),
        ("/status-pages/", "#status-pages", "status-pages"),
    ):
        page.goto(path)
        rows = page.locator(f"{table} tbody tr")
        assert rows.count() == 2
        names = {rows.nth(i).locator(".project-name").inner_text() for i in range(2)}
        assert names == {"Default", "AI platform"}, path
        screenshot(page, f"scopeconfig/{shot}-{look}")
