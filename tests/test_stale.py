"""A function or breaker instance that stopped reporting is shown as stale, not as its last state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client

from alerts.evaluate import evaluate_all
from alerts.models import Alert, Channel
from monitoring.models import UserToken
from tests.alert_fixtures import make_rule
from tests.conftest import Reporter, call, now_iso

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def auth(admin_user: User) -> dict:
    _, key = UserToken.issue(user=admin_user)
    return {"Authorization": f"Bearer {key}"}


def report_at(reporter: Reporter, moment: datetime, batch: dict) -> None:
    with time_machine.travel(moment, tick=False):
        batch = {**batch, "calls": [call(**c) for c in batch.get("calls", [])]}
        for breaker in batch.get("breakers", []):
            breaker["ts"] = now_iso()
        assert reporter.post(batch).status_code == 202


def functions(client: Client, auth: dict) -> dict[str, dict]:
    with time_machine.travel(NOW, tick=False):
        items = client.get("/api/v1/functions", headers=auth).json()["items"]
    return {row["name"]: row for row in items}


def test_a_function_that_went_quiet_is_stale_not_open(client: Client, auth: dict, reporter: Reporter) -> None:
    quiet = {
        "instance": "pod-1",
        "calls": [{"function": "charge", "outcome": "failure"}],
        "breakers": [{"function": "charge", "state": "open"}],
    }
    report_at(reporter, NOW - timedelta(minutes=24), quiet)
    report_at(reporter, NOW - timedelta(seconds=30), {"calls": [{"function": "refund"}]})
    rows = functions(client, auth)
    assert rows["charge"]["health"] == "stale"
    assert rows["charge"]["breaker"]["state"] is None
    assert rows["charge"]["breaker"]["stale"] == 1
    silent = (NOW - timedelta(minutes=24)).strftime("%H:%M")
    assert rows["charge"]["breaker"]["text"] == f"unknown: 1 silent since {silent} UTC"
    assert rows["refund"]["health"] == "healthy"
    with time_machine.travel(NOW, tick=False):
        overview = client.get("/api/v1/overview", headers=auth).json()
        stale_only = client.get("/api/v1/functions?health=stale", headers=auth).json()
    assert (overview["stale_functions"], overview["open_breakers"], overview["trouble"]) == (1, 0, [])
    assert [row["name"] for row in stale_only["items"]] == ["charge"]


def test_an_instance_that_went_quiet_no_longer_counts_in_the_fleet_view(
    client: Client, auth: dict, reporter: Reporter
) -> None:
    breaker = {"breakers": [{"function": "charge", "state": "open"}]}
    report_at(reporter, NOW - timedelta(minutes=20), {"instance": "pod-1", **breaker})
    report_at(reporter, NOW - timedelta(seconds=20), {"instance": "pod-2", **breaker})
    view = functions(client, auth)["charge"]["breaker"]
    assert (view["state"], view["open"], view["instances"], view["stale"]) == ("open", 1, 1, 1)
    assert "open on 1 of 1 instances" in view["text"] and "1 silent since" in view["text"]


def test_a_breaker_alert_resolves_when_its_instance_stops_reporting(reporter: Reporter, log_channel: Channel) -> None:
    make_rule(log_channel, metric="breaker_open_s", threshold=0, op=">=", min_calls=0, service="*")
    report_at(
        reporter,
        NOW - timedelta(minutes=3),
        {"instance": "pod-1", "breakers": [{"function": "charge", "state": "open"}]},
    )
    with time_machine.travel(NOW - timedelta(minutes=2), tick=False):
        evaluate_all()
    alert = Alert.objects.get()
    assert alert.state == "firing"
    with time_machine.travel(NOW + timedelta(minutes=10), tick=False):
        evaluate_all()
    alert.refresh_from_db()
    # No data is clear: it resolves once that has lasted MONITOR_RESOLVE_AFTER_S (120 s).
    assert alert.state == "firing" and alert.clear_since is not None
    with time_machine.travel(NOW + timedelta(minutes=12, seconds=1), tick=False):
        evaluate_all()
    alert.refresh_from_db()
    assert alert.state == "resolved"
