"""An alert's page leads to what the alert is about: its function, queue or service."""

from __future__ import annotations

import pytest

from alerts.models import Alert
from monitoring.models import Function
from queues.models import Queue
from tests.alert_fixtures import People, make_alert, make_rule
from tests.conftest import Reporter, call, now_iso

pytestmark = pytest.mark.django_db


def subject_line(page: str) -> str:
    return page.split('id="subject"')[1].split("</p>")[0]


def alert_on(metric: str, subject: str) -> Alert:
    return make_alert(make_rule(metric=metric, threshold=1), subject=subject)


def test_it_links_a_function_alert_to_the_function_page(people: People, reporter: Reporter, no_defaults: None) -> None:
    assert reporter.post({"calls": [call("charge", "failure")]}).status_code == 202
    function = Function.objects.get(name="charge")
    alert = alert_on("error_rate", "charge")
    page = people.viewer.get(f"/alerts/{alert.id}/").content.decode()
    line = subject_line(page)
    assert "About the function" in line and f'<a href="/functions/{function.id}/">payments / charge</a>' in line


def test_it_links_a_queue_alert_to_the_queue_page(people: People, reporter: Reporter, no_defaults: None) -> None:
    snapshot = {"queue": "email_queue", "ts": now_iso(), "depth": 120, "in_flight": 4, "dead_letter": 2}
    assert reporter.post({"queues": [snapshot]}).status_code == 202
    queue = Queue.objects.get(name="email_queue")
    alert = alert_on("queue_depth", "email_queue")
    line = subject_line(people.viewer.get(f"/alerts/{alert.id}/").content.decode())
    assert "About the queue" in line and f'<a href="/queues/{queue.id}/">payments / email_queue</a>' in line


def test_a_function_and_a_queue_of_one_name_are_told_apart_by_the_metric(
    people: People, reporter: Reporter, no_defaults: None
) -> None:
    snapshot = {"queue": "charge", "ts": now_iso(), "depth": 1, "in_flight": 0, "dead_letter": 0}
    assert reporter.post({"calls": [call("charge")], "queues": [snapshot]}).status_code == 202
    queue = Queue.objects.get(name="charge")
    alert = alert_on("dead_letter", "charge")
    line = subject_line(people.viewer.get(f"/alerts/{alert.id}/").content.decode())
    assert f'href="/queues/{queue.id}/"' in line and "/functions/" not in line


def test_it_links_a_silent_reporter_alert_to_its_service_functions(
    people: People, reporter: Reporter, no_defaults: None
) -> None:
    assert reporter.post({"calls": [call("charge")]}).status_code == 202
    alert = alert_on("reporter_silent_minutes", "payments")
    page = people.viewer.get(f"/alerts/{alert.id}/").content.decode()
    assert '<a href="/functions/?service=payments">payments</a>' in subject_line(page)
    assert '<h1>payments errors <span class="muted">on payments</span></h1>' in page


def test_it_says_plainly_when_the_subject_is_gone(people: People, no_defaults: None) -> None:
    alert = alert_on("error_rate", "refund")  # no such function was ever reported
    page = people.viewer.get(f"/alerts/{alert.id}/").content.decode()
    line = subject_line(page)
    assert "The function payments / refund no longer exists" in line and "<a " not in line
    assert "The function is gone, and its series with it: nothing to chart." in page
    assert "alert-chart-canvas" not in page
