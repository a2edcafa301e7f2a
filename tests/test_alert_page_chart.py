"""An alert's page charts the rule's metric around the alert, or says why it cannot."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts import lifecycle
from alerts.models import Alert
from monitoring.models import Function
from queues.models import Queue
from tests.alert_fixtures import People, make_alert, make_rule
from tests.conftest import Reporter, call, now_iso

pytestmark = pytest.mark.django_db


def figure(page: str) -> dict[str, str]:
    """The chart figure's data attributes, by name."""
    tag = page.split('id="alert-chart-figure"')[1].split(">")[0]
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', tag))


def note(page: str) -> str:
    return " ".join(page.split('id="alert-chart-note">')[1].split("</p>")[0].split())


@pytest.fixture
def charge(reporter: Reporter, no_defaults: None) -> Function:
    calls = [call("charge", "failure") for _ in range(6)] + [call("charge") for _ in range(4)]
    assert reporter.post({"calls": calls}).status_code == 202
    return Function.objects.get(name="charge")


def test_a_firing_alert_charts_from_30_minutes_before_it_to_now(people: People, charge: Function) -> None:
    alert = make_alert(make_rule(window_minutes=5), started_at=timezone.now() - timedelta(minutes=3))
    attributes = figure(people.viewer.get(f"/alerts/{alert.id}/").content.decode())
    assert attributes["series-url"] == f"/api/v1/functions/{charge.id}/series"
    assert attributes["from"] == (alert.started_at - timedelta(minutes=30)).isoformat()
    assert "to" not in attributes  # to now, however long the page stays open
    assert (attributes["field"], attributes["how"], attributes["threshold"]) == ("error_rate", "point", "0.2")
    # Read again as its service reports, no more often than the rules are evaluated.
    assert attributes["live"] == f"service:{charge.service_id}" and attributes["live-every"] == "15000"


def test_the_series_the_page_names_holds_the_calls_around_the_alert(people: People, charge: Function) -> None:
    alert = make_alert(make_rule(), started_at=timezone.now() - timedelta(minutes=2))
    attributes = figure(people.viewer.get(f"/alerts/{alert.id}/").content.decode())
    series = people.viewer.get(attributes["series-url"], **{"from": attributes["from"]}).json()
    assert series["step_s"] == 60 and 32 <= len(series["points"]) <= 34
    assert series["totals"]["failure"] == 6 and series["totals"]["calls"] == 10
    assert [p["error_rate"] for p in series["points"] if p["calls"]] == [0.6]


def test_a_resolved_alert_charts_to_10_minutes_after_it_ended(people: People, charge: Function) -> None:
    alert = make_alert(make_rule(), started_at=timezone.now() - timedelta(hours=2))
    lifecycle.resolve(alert)
    ended = timezone.now() - timedelta(minutes=90)
    Alert.objects.filter(id=alert.id).update(resolved_at=ended)
    page = people.viewer.get(f"/alerts/{alert.id}/").content.decode()
    attributes = figure(page)
    assert attributes["to"] == (ended + timedelta(minutes=10)).isoformat() and "live" not in attributes
    assert "to 10 minutes after it ended" in note(page)


def test_the_note_says_points_are_per_step_and_the_rule_judges_a_window(people: People, charge: Function) -> None:
    alert = make_alert(make_rule(metric="p95_ms", threshold=2000, window_minutes=5))
    page = people.viewer.get(f"/alerts/{alert.id}/").content.decode()
    assert (figure(page)["field"], figure(page)["how"]) == ("p95_ms", "point")
    assert "Each point is one step (" in note(page) and "the rule judges a window of 5 minutes" in note(page)
    assert "the dashed line is the threshold (&gt; 2000)" in note(page)


@pytest.mark.parametrize(
    ("metric", "field", "how"),
    [
        ("timeout_rate", "timeout", "ratio"),
        ("rejected_rate", "rejected", "ratio"),
        ("availability", "success", "ratio"),
        ("retries_per_call", "retries_per_call", "point"),
        ("call_volume", "calls", "sum"),
    ],
)
def test_each_call_metric_is_read_from_its_series_field(
    people: People, charge: Function, metric: str, field: str, how: str
) -> None:
    alert = make_alert(make_rule(metric=metric, threshold=1))
    attributes = figure(people.viewer.get(f"/alerts/{alert.id}/").content.decode())
    assert (attributes["field"], attributes["how"]) == (field, how)


def test_call_volume_is_added_up_over_the_window_as_the_rule_counts_it(people: People, charge: Function) -> None:
    alert = make_alert(make_rule(metric="call_volume", op="<", threshold=50, window_minutes=10))
    assert "adds up the calls of the 10 minutes up to it" in note(
        people.viewer.get(f"/alerts/{alert.id}/").content.decode()
    )


def test_a_resolve_threshold_is_drawn_too(people: People, charge: Function) -> None:
    alert = make_alert(make_rule(resolve_threshold=0.1))
    page = people.viewer.get(f"/alerts/{alert.id}/").content.decode()
    assert figure(page)["resolve-threshold"] == "0.1" and "the dotted one where it resolves (0.1)" in note(page)


@pytest.mark.parametrize(
    "metric", ["breaker_open_s", "breaker_half_open_s", "breaker_flips", "concurrency_utilisation"]
)
def test_a_metric_with_no_series_gets_a_sentence_not_an_empty_chart(
    people: People, charge: Function, metric: str
) -> None:
    alert = make_alert(make_rule(metric=metric, threshold=0))
    page = people.viewer.get(f"/alerts/{alert.id}/").content.decode()
    assert "alert-chart-canvas" not in page
    assert "nothing to chart" in page.split('id="alert-chart-missing">')[1].split("</p>")[0]


def test_a_silent_reporter_has_nothing_to_chart(people: People, charge: Function) -> None:
    alert = make_alert(make_rule(metric="reporter_silent_minutes", threshold=10), subject="payments")
    page = people.viewer.get(f"/alerts/{alert.id}/").content.decode()
    assert "A silent reporter has nothing to chart" in page and "alert-chart-canvas" not in page


@pytest.fixture
def email_queue(reporter: Reporter, no_defaults: None) -> Queue:
    snapshot = {"queue": "email_queue", "ts": now_iso(), "depth": 120, "in_flight": 4, "dead_letter": 2}
    assert reporter.post({"queues": [snapshot]}).status_code == 202
    return Queue.objects.get(name="email_queue")


@pytest.mark.parametrize(
    ("metric", "field", "how"),
    [
        ("queue_depth", "depth", "point"),
        ("dead_letter", "dead_letter", "point"),
        ("dead_letter_growth", "dead_letter", "growth"),
        ("oldest_pending_age_s", "oldest_age_s", "point"),
    ],
)
def test_a_queue_alert_charts_the_queue_series(
    people: People, email_queue: Queue, metric: str, field: str, how: str
) -> None:
    alert = make_alert(make_rule(metric=metric, threshold=100), subject="email_queue")
    attributes = figure(people.viewer.get(f"/alerts/{alert.id}/").content.decode())
    assert attributes["series-url"] == f"/api/v1/queues/{email_queue.id}/series" and attributes["subject"] == "queue"
    assert (attributes["field"], attributes["how"]) == (field, how)
    assert attributes["live"] == f"queue-service:{email_queue.service_id}"


def test_a_queue_alert_older_than_the_queue_series_says_so(people: People, email_queue: Queue) -> None:
    long_ago = timezone.now() - timedelta(days=3)
    alert = make_alert(make_rule(metric="queue_depth", threshold=100), subject="email_queue", started_at=long_ago)
    lifecycle.resolve(alert)
    Alert.objects.filter(id=alert.id).update(resolved_at=long_ago + timedelta(hours=1))
    page = people.viewer.get(f"/alerts/{alert.id}/").content.decode()
    assert "charted back 24 hours at most, and this alert ended before that" in page
    assert "alert-chart-canvas" not in page


def test_a_queue_alert_firing_for_days_is_charted_from_24_hours_ago(people: People, email_queue: Queue) -> None:
    started = timezone.now() - timedelta(days=2)
    alert = make_alert(make_rule(metric="queue_depth", threshold=100), subject="email_queue", started_at=started)
    page = people.viewer.get(f"/alerts/{alert.id}/").content.decode()
    assert "alert-chart-canvas" in page and "the chart starts there" in note(page)
