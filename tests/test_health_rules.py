"""A function's health agrees with the rules: degraded while a rule fires on it or its value
breaches one, healthy again once the alert resolves; a queue's alert touches no function."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from pytest_django import Settings

from alerts.evaluate import evaluate_all
from alerts.models import Alert, Breach, Channel, Rule
from monitoring.models import Function, Service
from resilience_site.live import function_rows
from tests.alert_fixtures import People, make_rule
from tests.conftest import Reporter, call, now_iso

# Not about grouping or hysteresis: notices go without a group wait, clear conditions resolve at once.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("notify_at_once")]


def slow(n: int) -> list[dict]:
    return [call("charge", duration_ms=4660.0) for _ in range(n)]


def fast(n: int) -> list[dict]:
    return [call("charge", duration_ms=20.0) for _ in range(n)]


def slow_calls_rule(channel: Channel, **fields: object) -> Rule:
    values = {"name": "slow charges", "metric": "p95_ms", "threshold": 1000.0, "min_calls": 1, "severity": "high"}
    return make_rule(channel, **{**values, **fields})


def badge_in_row(html: str, function_id: int) -> str | None:
    """The health badge in the function's table row, or None when it has no row."""
    found = re.search(rf'<tr data-function="{function_id}".*?data-field="health"><span class="badge (\w+)"', html, re.S)
    return found.group(1) if found else None


def health_everywhere(people: People, function: Function) -> dict[str, str | None]:
    """The function's health as the API, the functions list, its page and the overview show it."""
    viewer = people.viewer
    listed = {row["id"]: row for row in viewer.get("/api/v1/functions").json()["items"]}
    overview = viewer.get("/api/v1/overview").json()
    page = viewer.get(f"/functions/{function.id}/").content.decode()
    return {
        "api": listed[function.id]["health"],
        "api, one function": viewer.get(f"/api/v1/functions/{function.id}").json()["health"],
        "api, filtered": next(
            (row["health"] for row in viewer.get("/api/v1/functions", health="degraded").json()["items"]), None
        ),
        "functions page": badge_in_row(viewer.get("/functions/").content.decode(), function.id),
        "function page": re.search(r'id="health"><span class="badge (\w+)"', page).group(1),
        "overview": next((row["health"] for row in overview["trouble"] if row["id"] == function.id), None),
        "overview page": badge_in_row(viewer.get("/").content.decode(), function.id),
    }


def test_it_is_degraded_while_a_slow_calls_rule_fires_and_healthy_once_it_resolves(
    reporter: Reporter, log_channel: Channel, people: People
) -> None:
    slow_calls_rule(log_channel)
    reporter.post({"calls": slow(10)})
    function = Function.objects.get(name="charge")
    assert evaluate_all().fired == 1
    alert = Alert.objects.get()
    assert alert.value > 4000  # p95 at 4.66 s, no call failed: only the rule says anything is wrong
    assert set(health_everywhere(people, function).values()) == {"degraded"}

    reporter.post({"calls": fast(400)})  # p95 back to 20 ms
    assert evaluate_all().resolved == 1
    assert health_everywhere(people, function) == {
        "api": "healthy",
        "api, one function": "healthy",
        "api, filtered": None,
        "functions page": "healthy",
        "function page": "healthy",
        "overview": None,
        "overview page": None,
    }


def test_a_value_over_the_threshold_degrades_while_it_waits_out_the_for_duration(
    reporter: Reporter, log_channel: Channel, people: People
) -> None:
    rule = slow_calls_rule(log_channel, for_seconds=300)
    reporter.post({"calls": slow(10)})
    function = Function.objects.get(name="charge")
    assert evaluate_all().fired == 0
    assert Breach.objects.filter(rule=rule, fingerprint=f"function:{function.id}").exists()
    shown = health_everywhere(people, function)
    assert shown["api"] == shown["function page"] == shown["overview"] == "degraded"

    reporter.post({"calls": fast(400)})
    evaluate_all()
    assert not Breach.objects.exists()
    assert people.viewer.get(f"/api/v1/functions/{function.id}").json()["health"] == "healthy"


def test_resolving_by_hand_brings_healthy_back(reporter: Reporter, log_channel: Channel, people: People) -> None:
    slow_calls_rule(log_channel)
    reporter.post({"calls": slow(10)})
    evaluate_all()
    alert = Alert.objects.get()
    function = Function.objects.get(name="charge")
    assert people.viewer.get(f"/api/v1/functions/{function.id}").json()["health"] == "degraded"
    assert people.responder.post(f"/api/v1/alerts/{alert.id}/resolve").status_code == 200
    assert people.viewer.get(f"/api/v1/functions/{function.id}").json()["health"] == "healthy"


def test_an_acknowledged_or_suppressed_alert_still_degrades(
    reporter: Reporter, log_channel: Channel, people: People
) -> None:
    slow_calls_rule(log_channel)
    reporter.post({"calls": slow(10)})
    evaluate_all()
    alert = Alert.objects.get()
    function = Function.objects.get(name="charge")
    assert people.responder.post(f"/api/v1/alerts/{alert.id}/acknowledge").status_code == 200
    assert people.responder.post(f"/api/v1/alerts/{alert.id}/suppress", {"minutes": 30}).status_code == 200
    evaluate_all()
    alert.refresh_from_db()
    assert alert.state == "acknowledged" and alert.is_suppressed()
    assert people.viewer.get(f"/api/v1/functions/{function.id}").json()["health"] == "degraded"


@pytest.mark.parametrize("how", ["disabled", "deleted"])
def test_stopping_the_rule_brings_healthy_back(
    how: str, reporter: Reporter, log_channel: Channel, people: People
) -> None:
    firing = slow_calls_rule(log_channel)
    waiting = slow_calls_rule(log_channel, name="slow charges, patient", for_seconds=600)
    reporter.post({"calls": slow(10)})
    evaluate_all()
    assert Alert.objects.filter(rule=firing).exists() and Breach.objects.filter(rule=waiting).exists()
    function = Function.objects.get(name="charge")
    for rule in (firing, waiting):
        if how == "disabled":
            answer = people.admin.patch(f"/api/v1/rules/{rule.id}", {"enabled": False})
        else:
            answer = people.admin.delete(f"/api/v1/rules/{rule.id}")
        assert answer.status_code in (200, 204)
    assert people.viewer.get(f"/api/v1/functions/{function.id}").json()["health"] == "healthy"


def test_a_queue_alert_touches_no_function(reporter: Reporter, log_channel: Channel, people: People) -> None:
    make_rule(log_channel, name="mail backlog", metric="queue_depth", threshold=100, min_calls=0)
    snapshot = {"queue": "charge", "ts": now_iso(), "depth": 500, "in_flight": 0, "dead_letter": 0}
    reporter.post({"calls": fast(10), "queues": [snapshot]})
    assert evaluate_all().fired == 1
    assert Alert.objects.get().fingerprint.startswith("queue:")
    function = Function.objects.get(name="charge")  # the same name as the queue
    assert not Function.objects.filter(alerting=True).exists()
    assert people.viewer.get(f"/api/v1/functions/{function.id}").json()["health"] == "healthy"


def test_a_stale_function_stays_stale_while_its_rule_fires(
    reporter: Reporter, log_channel: Channel, people: People
) -> None:
    make_rule(log_channel, name="busy charges", metric="call_volume", threshold=1, min_calls=0)
    reporter.post({"calls": fast(3)})
    assert evaluate_all().fired == 1
    function = Function.objects.get(name="charge", alerting=True)
    Function.objects.filter(id=function.id).update(last_seen=timezone.now() - timedelta(hours=1))
    assert people.viewer.get(f"/api/v1/functions/{function.id}").json()["health"] == "stale"


def test_a_deleted_service_takes_its_flags_and_its_alerts_resolve(
    reporter: Reporter, log_channel: Channel, people: People
) -> None:
    slow_calls_rule(log_channel)
    reporter.post({"calls": slow(10)})
    evaluate_all()
    Service.objects.get(name="payments").delete()
    assert evaluate_all().resolved == 1
    assert Alert.objects.get().state == "resolved"


def test_with_a_p95_limit_slow_calls_degrade_without_any_rule(
    reporter: Reporter, no_defaults: None, people: People, settings: Settings
) -> None:
    """The database cannot read p95: with a limit set, the list and the overview judge in Python."""
    settings.MONITOR_HEALTH_DEGRADED_P95_MS = 1000
    reporter.post({"calls": slow(10) + [call("refund", duration_ms=20.0) for _ in range(10)]})
    charge = Function.objects.get(name="charge")
    assert not charge.alerting
    overview = people.viewer.get("/api/v1/overview").json()
    assert [(row["name"], row["health"]) for row in overview["trouble"]] == [("charge", "degraded")]
    degraded = people.viewer.get("/api/v1/functions", health="degraded").json()["items"]
    assert [row["name"] for row in degraded] == ["charge"]
    by_p95 = people.viewer.get("/api/v1/functions", sort="-p95").json()["items"]
    assert [row["name"] for row in by_p95] == ["charge", "refund"]


def test_the_live_update_agrees(reporter: Reporter, log_channel: Channel) -> None:
    """A page's row patched by the websocket shows what the page showed: degraded."""
    slow_calls_rule(log_channel)
    reporter.post({"calls": slow(10)})
    evaluate_all()
    function = Function.objects.get(name="charge")
    assert [row["health"] for row in function_rows([function.id])] == ["degraded"]
