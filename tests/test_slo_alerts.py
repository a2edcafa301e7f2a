"""Burn-rate alerts: an SLO burning at 20x pages (fast burn) and its notification reaches a
real webhook receiver; at 2x only the slow burn fires; a burn that stops resolves."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from pytest_django import DjangoCaptureOnCommitCallbacks

from alerts import incidents, slo_read
from alerts.models import Alert, Channel
from alerts.slo_evaluate import evaluate_slos
from tests.alert_fixtures import People
from tests.receivers import HttpReceiver
from tests.slo_fixtures import NOW, make_function, make_slo, seed_minutes

pytestmark = pytest.mark.django_db
THREE_DAYS = 3 * 24 * 60


def firing() -> dict[str, Alert]:
    return {a.fingerprint.rsplit(":", 1)[1]: a for a in Alert.objects.filter(state="firing")}


def test_it_pages_when_the_budget_burns_at_20x(
    http_receiver: HttpReceiver, no_defaults: None, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    hook = Channel.objects.create(
        name="ops hook", kind="webhook", config={"url": http_receiver.url("/hook"), "secret": "a-long-enough-secret"}
    )
    function = make_function()
    slo = make_slo(function, hook)
    # Three quiet days at 1,000 calls a minute, then an hour with 2 % failing: 20x a 0.1 % budget.
    seed_minutes(function, THREE_DAYS - 60, calls=1000, bad=0, end=NOW - timedelta(hours=1))
    seed_minutes(function, 60, calls=1000, bad=20)

    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        outcome = evaluate_slos()

    assert outcome.fired == 1
    alert = firing()["fast"]
    assert (alert.severity, alert.value, alert.threshold) == ("critical", pytest.approx(20), 14.4)
    assert alert.summary == "checkout succeeds: burning 20x: 2.8 % of the 30-day budget in 1 h"
    assert alert.rule_id == slo.rule_id
    # It joins an incident like any alert: its first notice goes after the group wait.
    assert alert.incident is not None and http_receiver.items == []
    with time_machine.travel(NOW + timedelta(seconds=11), tick=False), django_capture_on_commit_callbacks(execute=True):
        assert incidents.flush_due() == 1
    body = http_receiver.wait_for(1)[0].json()
    assert body["event"] == "firing"
    assert "burning 20x: 2.8 % of the 30-day budget in 1 h" in body["text"]
    assert body["alert"]["severity"] == "critical"
    assert [a["id"] for a in body["incident"]["alerts"]] == [alert.id]


def test_it_files_only_the_slow_burn_at_2x(no_defaults: None) -> None:
    function = make_function()
    make_slo(function)
    seed_minutes(function, THREE_DAYS, calls=1000, bad=2)

    with time_machine.travel(NOW, tick=False):
        evaluate_slos()
        evaluate_slos()  # a second round fires nothing twice

    alerts = firing()
    assert list(alerts) == ["slow"]
    assert alerts["slow"].severity == "medium"
    assert alerts["slow"].summary == "checkout succeeds: burning 2x: 20 % of the 30-day budget in 3 days"


# 0: as in a round of more SLOs than BY_ID_UP_TO, their open alerts read by the rules' metric.
@pytest.mark.parametrize("by_id_up_to", [slo_read.BY_ID_UP_TO, 0])
def test_it_resolves_once_both_windows_are_clear(
    no_defaults: None, by_id_up_to: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slo_read, "BY_ID_UP_TO", by_id_up_to)
    function = make_function()
    make_slo(function)
    seed_minutes(function, THREE_DAYS - 60, calls=1000, bad=0, end=NOW - timedelta(hours=1))
    seed_minutes(function, 60, calls=1000, bad=20)
    with time_machine.travel(NOW, tick=False):
        evaluate_slos()
    alert = firing()["fast"]

    # Ten good minutes: the 5-minute window is clear, the hour still burns: the alert holds,
    # showing the hour's burn rate now.
    seed_minutes(function, 10, calls=1000, bad=0, end=NOW + timedelta(minutes=10))
    with time_machine.travel(NOW + timedelta(minutes=10), tick=False):
        evaluate_slos()
    alert.refresh_from_db()
    assert alert.state == "firing"
    assert 14.4 < alert.value < 19

    # An hour later both windows are clear.
    seed_minutes(function, 60, calls=1000, bad=0, end=NOW + timedelta(minutes=70))
    with time_machine.travel(NOW + timedelta(minutes=70), tick=False):
        outcome = evaluate_slos()
    alert.refresh_from_db()
    assert (outcome.resolved, alert.state) == (1, "resolved")
    assert alert.events.last().detail.startswith("the condition cleared")


def test_a_disabled_slo_resolves_its_alerts_and_is_not_evaluated(no_defaults: None) -> None:
    from alerts import slo_changes
    from alerts.api.slo_schemas import SLOIn

    function = make_function()
    slo = make_slo(function)
    seed_minutes(function, THREE_DAYS, calls=1000, bad=2)
    with time_machine.travel(NOW, tick=False):
        evaluate_slos()
        assert len(firing()) == 1
        data = SLOIn(name=slo.name, service="payments", function="charge", target=99.9, enabled=False)
        slo_changes.update(slo, None, data.model_dump())
        assert evaluate_slos().fired == 0
    assert firing() == {}
    assert Alert.objects.get().events.last().detail == "the SLO “checkout succeeds” was disabled"


def test_an_slo_alert_reads_on_the_alert_pages(people: People, no_defaults: None) -> None:
    function = make_function()
    slo = make_slo(function)
    seed_minutes(function, THREE_DAYS, calls=1000, bad=2)
    with time_machine.travel(NOW, tick=False):
        evaluate_slos()
        alert = firing()["slow"]
        page = people.viewer.client.get(f"/alerts/{alert.id}/").content.decode()
        body = people.viewer.get(f"/api/v1/alerts/{alert.id}").json()
        slo_page = people.viewer.client.get(f"/slos/{slo.id}/").content.decode()
    assert "SLO checkout succeeds" in page and "burning 2x: 20 % of the 30-day budget in 3 days" in page
    assert "its SLO page" in page
    assert (body["rule"]["name"], body["metric"], body["severity"]) == (
        "SLO checkout succeeds",
        "slo_burn_rate",
        "medium",
    )
    assert f'href="/alerts/{alert.id}/"' in slo_page  # the SLO page links its open alert
    assert "firing" in slo_page


def test_the_slo_round_is_a_periodic_job(no_defaults: None) -> None:
    from alerts.tasks import evaluate_slos as task
    from resilience_site.periodic import JOBS

    assert JOBS["evaluate-slos"] == ("alerts.tasks.evaluate_slos", 60.0)
    function = make_function()
    make_slo(function)
    seed_minutes(function, THREE_DAYS, calls=1000, bad=2)
    with time_machine.travel(NOW, tick=False):
        task.delay()
    assert list(firing()) == ["slow"]
