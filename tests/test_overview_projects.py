"""The overview's "all my projects": a row per project for a person in several, with set-based
figures; a person in one project sees the overview as before."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from alerts import lifecycle
from alerts.models import Rule
from monitoring.models import IngestToken, Project, Service
from resilience_site.overview import project_summaries
from tests.browser import join, make_user
from tests.conftest import Reporter, call, now_iso

pytestmark = pytest.mark.django_db


def report(client: Client, service: Service, batch: dict) -> None:
    raw = IngestToken.issue(service=service)[1]
    assert Reporter(client, raw).post(batch).status_code == 202


@pytest.fixture
def two(client: Client) -> dict:
    return seed_two_projects(client)


def seed_two_projects(client: Client) -> dict:
    """Payments (default): two services, one function with an open breaker and failing calls,
    a firing alert. AI platform: one healthy service. Dana: responder in payments, viewer in ai."""
    ai = Project.objects.create(name="AI platform", slug="ai")
    default = Project.objects.default()
    payments = Service.objects.create(name="payments", project=default)
    Service.objects.create(name="ledger", project=default)
    llm = Service.objects.create(name="llm", project=ai)
    ts = now_iso()
    report(
        client,
        payments,
        {
            "instance": "pod-1",
            "calls": [call("charge", "failure")] * 3,
            "breakers": [{"function": "charge", "state": "open", "ts": ts}],
        },
    )
    report(client, llm, {"calls": [call("embed")] * 3})
    rule = Rule.objects.create(name="charge errors", metric="error_rate", threshold=0.2)
    observation = lifecycle.Observation(fingerprint="payments/charge", service="payments", subject="charge", value=1.0)
    lifecycle.fire(rule, observation)
    dana = User.objects.create_user("dana")
    join(dana, "responder", default)
    join(dana, "viewer", ai)
    return {"ai": ai, "default": default, "dana": dana}


def rows(user: User) -> dict[str, tuple[int, int, int, int]]:
    return {
        r["slug"]: (r["services"], r["trouble"], r["open_breakers"], r["firing_alerts"])
        for r in project_summaries(user)
    }


def test_a_person_in_two_projects_gets_a_row_per_project(client: Client, two: dict) -> None:
    assert rows(two["dana"]) == {"ai": (1, 0, 0, 0), "default": (2, 1, 1, 1)}
    client.force_login(two["dana"])
    page = client.get("/").content.decode()
    assert 'id="project-summaries"' in page
    assert page.index('data-project="ai"') < page.index('data-project="default"')  # by name
    # The current project (the first by name: AI platform) is marked; the other has the switch.
    assert 'aria-label="Switch to Default"' in page and 'aria-label="Switch to AI platform"' not in page


def test_the_switch_link_makes_that_project_current(client: Client, two: dict) -> None:
    client.force_login(two["dana"])
    answer = client.post("/projects/switch/", {"project": "default", "next": "/"}, follow=True)
    assert answer.redirect_chain[-1][0] == "/"
    page = answer.content.decode()
    assert "You are in “Default” now." in page
    assert 'aria-label="Switch to AI platform"' in page and 'aria-label="Switch to Default"' not in page


def test_a_person_in_one_project_sees_the_overview_as_before(client: Client, two: dict) -> None:
    viewer = make_user("viewer")
    assert project_summaries(viewer) == []
    client.force_login(viewer)
    assert 'id="project-summaries"' not in client.get("/").content.decode()


def test_the_owner_gets_every_project(two: dict) -> None:
    owner = make_user("admin")
    assert rows(owner) == {"ai": (1, 0, 0, 0), "default": (2, 1, 1, 1)}


def test_a_stranger_to_a_project_gets_no_row_of_it(two: dict) -> None:
    other = Project.objects.create(name="Zeta", slug="zeta")
    stranger = User.objects.create_user("stranger")
    join(stranger, "admin", other)
    join(stranger, "viewer", two["ai"])
    assert rows(stranger) == {"ai": (1, 0, 0, 0), "zeta": (0, 0, 0, 0)}


def test_the_summaries_cost_the_same_queries_for_two_projects_or_twelve(client: Client, two: dict) -> None:
    owner = make_user("admin")
    with CaptureQueriesContext(connection) as few:
        assert len(project_summaries(owner)) == 2
    for n in range(10):
        project = Project.objects.create(name=f"Team {n}", slug=f"team-{n}")
        report(client, Service.objects.create(name=f"svc-{n}", project=project), {"calls": [call("work", "failure")]})
    with CaptureQueriesContext(connection) as many:
        summaries = project_summaries(owner)
    assert len(summaries) == 12 and all(r["trouble"] == 1 for r in summaries if r["slug"].startswith("team-"))
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_p95_limit_judges_in_python_with_the_same_answer(two: dict, settings: object) -> None:
    settings.MONITOR_HEALTH_DEGRADED_P95_MS = 10_000
    assert rows(two["dana"]) == {"ai": (1, 0, 0, 0), "default": (2, 1, 1, 1)}
