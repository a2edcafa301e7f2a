"""The read API: functions with health and breaker fleet view, series, queues, status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client

from monitoring.models import UserToken
from tests.browser import join
from tests.conftest import Reporter, call, now_iso


@pytest.fixture
def auth(admin_user: User) -> dict:
    _, key = UserToken.issue(user=admin_user)
    return {"Authorization": f"Bearer {key}"}


def test_reads_need_a_login_or_personal_token(client: Client, db: None) -> None:
    assert client.get("/api/v1/functions").status_code == 401
    assert client.get("/api/v1/queues").status_code == 401
    assert client.get("/api/v1/functions", headers={"Authorization": "Bearer rmu_nope"}).status_code == 401


def test_an_ingest_token_cannot_read(client: Client, token: str) -> None:
    assert client.get("/api/v1/functions", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_session_login_reads(client: Client, reporter: Reporter, django_user_model: type[User]) -> None:
    reporter.post({"calls": [call()]})
    viewer = join(django_user_model.objects.create_user("viewer", password="pw-for-tests-1"), "viewer").user
    client.force_login(viewer)
    r = client.get("/api/v1/functions")
    assert r.status_code == 200
    assert r.json()["items"][0]["name"] == "charge"


def test_a_revoked_personal_token_stops_reading(client: Client, admin_user: User) -> None:
    token, key = UserToken.issue(user=admin_user)
    token.revoke()
    assert client.get("/api/v1/functions", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def test_functions_show_health_and_five_minute_figures(client: Client, reporter: Reporter, auth: dict) -> None:
    reporter.post({"calls": [call("ok")] * 20 + [call("bad", "failure")] * 8 + [call("bad")] * 2})
    items = {f["name"]: f for f in client.get("/api/v1/functions", headers=auth).json()["items"]}
    assert items["ok"]["health"] == "healthy"
    assert items["ok"]["calls_5m"] == 20
    assert items["ok"]["error_rate_5m"] == 0
    assert items["bad"]["health"] == "unhealthy"
    assert items["bad"]["error_rate_5m"] == pytest.approx(0.8)
    assert items["bad"]["recent_outcomes"][-2:] == ["success", "success"]
    assert items["bad"]["recent_outcomes"].count("failure") == 8


def test_a_function_last_heard_of_30_minutes_ago_is_stale(client: Client, reporter: Reporter, auth: dict) -> None:
    old = (datetime.now(UTC) - timedelta(minutes=30)).isoformat()
    reporter.post({"calls": [{**call(), "ts": old}]})
    item = client.get("/api/v1/functions", headers=auth).json()["items"][0]
    assert item["health"] == "stale"
    assert item["calls_5m"] == 0


def test_a_function_reporting_no_calls_is_unknown(client: Client, reporter: Reporter, auth: dict) -> None:
    gauge = {"function": "charge", "active": 1, "limit": 10, "queued": 0, "ts": now_iso()}
    reporter.post({"instance": "pod-1", "concurrency": [gauge]})
    item = client.get("/api/v1/functions", headers=auth).json()["items"][0]
    assert item["health"] == "unknown"


def test_some_errors_make_a_function_degraded(client: Client, reporter: Reporter, auth: dict) -> None:
    reporter.post({"calls": [call()] * 18 + [call(outcome="timeout")] * 2})
    assert client.get("/api/v1/functions", headers=auth).json()["items"][0]["health"] == "degraded"


def test_the_breaker_fleet_view_counts_instances(client: Client, reporter: Reporter, auth: dict) -> None:
    for instance, state in [("a", "open"), ("b", "open"), ("c", "open"), ("d", "closed"), ("e", "closed")]:
        reporter.post({"instance": instance, "breakers": [{"function": "invokeGroq", "state": state, "ts": now_iso()}]})
    item = client.get("/api/v1/functions", headers=auth).json()["items"][0]
    assert item["breaker"]["state"] == "open"
    assert (item["breaker"]["open"], item["breaker"]["instances"]) == (3, 5)
    assert item["breaker"]["text"].startswith("open on 3 of 5 instances since ")
    assert item["health"] == "degraded"


def test_a_fleet_is_all_closed_only_since_its_last_instance_closed(
    client: Client, reporter: Reporter, auth: dict
) -> None:
    now = datetime.now(UTC)
    for instance, closed_ago in [("a", 600), ("b", 60), ("c", 300)]:
        reporter.post(
            {
                "instance": instance,
                "breakers": [
                    {
                        "function": "invokeGroq",
                        "state": "closed",
                        "ts": (now - timedelta(seconds=closed_ago)).isoformat(),
                    }
                ],
            }
        )
    breaker = client.get("/api/v1/functions", headers=auth).json()["items"][0]["breaker"]
    assert breaker["state"] == "closed"
    assert abs(datetime.fromisoformat(breaker["since"]) - (now - timedelta(seconds=60))) < timedelta(seconds=1)


def test_an_open_fleet_is_open_since_its_first_instance_opened(client: Client, reporter: Reporter, auth: dict) -> None:
    now = datetime.now(UTC)
    for instance, state, ago in [("a", "open", 120), ("b", "open", 30), ("c", "closed", 5)]:
        reporter.post(
            {
                "instance": instance,
                "breakers": [
                    {"function": "invokeGroq", "state": state, "ts": (now - timedelta(seconds=ago)).isoformat()}
                ],
            }
        )
    breaker = client.get("/api/v1/functions", headers=auth).json()["items"][0]["breaker"]
    assert (breaker["state"], breaker["open"]) == ("open", 2)
    assert abs(datetime.fromisoformat(breaker["since"]) - (now - timedelta(seconds=120))) < timedelta(seconds=1)


def test_breaker_transitions_form_a_timeline(client: Client, reporter: Reporter, auth: dict) -> None:
    now = datetime.now(UTC)
    states = [("closed", 30), ("open", 20), ("half_open", 10), ("closed", 5), ("closed", 1)]
    reporter.post(
        {
            "instance": "pod-1",
            "breakers": [
                {"function": "charge", "state": s, "ts": (now - timedelta(seconds=ago)).isoformat()}
                for s, ago in states
            ],
        }
    )
    function_id = client.get("/api/v1/functions", headers=auth).json()["items"][0]["id"]
    detail = client.get(f"/api/v1/functions/{function_id}", headers=auth).json()
    flips = [(f["old_state"], f["new_state"]) for f in reversed(detail["breaker_flips"])]
    assert flips == [("", "closed"), ("closed", "open"), ("open", "half_open"), ("half_open", "closed")]
    assert detail["breaker_instances"][0]["state"] == "closed"
    assert detail["health"] == "healthy"


def test_a_late_breaker_report_does_not_rewind_the_state(client: Client, reporter: Reporter, auth: dict) -> None:
    now = datetime.now(UTC)
    reporter.post({"breakers": [{"function": "charge", "state": "open", "ts": now.isoformat()}]})
    earlier = (now - timedelta(seconds=30)).isoformat()
    reporter.post({"breakers": [{"function": "charge", "state": "closed", "ts": earlier}]})
    assert client.get("/api/v1/functions", headers=auth).json()["items"][0]["breaker"]["state"] == "open"


def test_concurrency_gauges_show_per_instance(client: Client, reporter: Reporter, auth: dict) -> None:
    gauge = {"function": "charge", "active": 3, "limit": 10, "queued": 2, "ts": now_iso()}
    reporter.post({"instance": "pod-1", "concurrency": [gauge]})
    reporter.post({"instance": "pod-1", "concurrency": [{**gauge, "active": 7}]})
    function_id = client.get("/api/v1/functions", headers=auth).json()["items"][0]["id"]
    detail = client.get(f"/api/v1/functions/{function_id}", headers=auth).json()
    assert [(c["instance"], c["active"], c["limit"]) for c in detail["concurrency"]] == [("pod-1", 7, 10)]


def test_the_series_has_one_point_per_minute(client: Client, reporter: Reporter, auth: dict) -> None:
    now = datetime.now(UTC)
    three_ago = (now - timedelta(minutes=3)).isoformat()
    reporter.post({"calls": [call(duration_ms=100), {**call(outcome="failure"), "ts": three_ago}]})
    function_id = client.get("/api/v1/functions", headers=auth).json()["items"][0]["id"]
    series = client.get(f"/api/v1/functions/{function_id}/series?minutes=10", headers=auth).json()
    assert len(series["points"]) == 10
    assert series["points"][-1]["success"] == 1
    assert series["points"][-4]["failure"] == 1
    assert sum(p["calls"] for p in series["points"]) == 2


def test_series_minutes_are_bounded(client: Client, reporter: Reporter, auth: dict) -> None:
    reporter.post({"calls": [call()]})
    function_id = client.get("/api/v1/functions", headers=auth).json()["items"][0]["id"]
    r = client.get(f"/api/v1/functions/{function_id}/series?minutes=100000", headers=auth)
    assert r.status_code == 422
    assert "minutes" in str(r.json())
    assert client.get("/api/v1/functions/999999/series", headers=auth).status_code == 404


def test_functions_are_paginated_and_filtered(client: Client, reporter: Reporter, auth: dict) -> None:
    reporter.post({"calls": [call(f"fn{i:02}") for i in range(30)]})
    page = client.get("/api/v1/functions?limit=10&offset=20", headers=auth).json()
    assert page["count"] == 30
    assert [f["name"] for f in page["items"]][:2] == ["fn20", "fn21"]
    assert client.get("/api/v1/functions?q=fn1", headers=auth).json()["count"] == 10
    assert client.get("/api/v1/functions?service=nope", headers=auth).json()["count"] == 0


def test_queues_show_their_latest_snapshot_and_series(client: Client, reporter: Reporter, auth: dict) -> None:
    now = datetime.now(UTC)
    snaps = [
        {"queue": "email_queue", "ts": (now - timedelta(seconds=s)).isoformat(), "depth": d, "dead_letter": dl}
        for s, d, dl in [(90, 10, 0), (60, 40, 1), (5, 120, 2)]
    ]
    reporter.post({"queues": snaps})
    queue = client.get("/api/v1/queues", headers=auth).json()["items"][0]
    assert queue["latest"]["depth"] == 120
    assert queue["latest"]["dead_letter"] == 2
    series = client.get(f"/api/v1/queues/{queue['id']}/series?minutes=5", headers=auth).json()
    assert [p["depth"] for p in series["points"]] == [10, 40, 120]


def test_status_reports_each_part(client: Client, db: None) -> None:
    r = client.get("/api/v1/status")
    assert r.status_code == 200
    status = r.json()
    assert status["database"]["ok"] is True
    assert status["redis"]["ok"] is None  # the embedded default has no Redis
    assert status["worker"] == {"ok": True, "detail": "tasks run in-process"}
    assert status["scheduler"]["ok"] is False  # no periodic job ran in this test


def test_openapi_docs_are_served(client: Client, db: None) -> None:
    assert client.get("/api/docs").status_code == 200
    schema = client.get("/api/openapi.json").json()
    assert "/api/v1/ingest" in schema["paths"]
    assert "duration_ms" in schema["components"]["schemas"]["Call"]["properties"]


def test_filters_and_sorts_by_figures_page_through_full_rows(client: Client, reporter: Reporter, auth: dict) -> None:
    calls = [call(f"ok{i}", duration_ms=10.0 * (i + 1)) for i in range(6)]
    calls += [call("slow", duration_ms=900.0), call("bad", "failure"), call("bad", "failure"), call("bad")]
    reporter.post({"calls": calls, "breakers": [{"function": "ok0", "state": "half_open", "ts": now_iso()}]})
    worst = client.get("/api/v1/functions?sort=-error_rate&limit=2", headers=auth).json()
    assert worst["count"] == 8
    assert [row["name"] for row in worst["items"]] == ["bad", "ok0"]
    # Full rows on the page: the percentile and the last outcomes come with them.
    assert worst["items"][0]["p95_ms_5m"] is not None and worst["items"][0]["recent_outcomes"]
    assert worst["items"][0]["error_rate_5m"] == pytest.approx(2 / 3)
    degraded = client.get("/api/v1/functions?health=degraded", headers=auth).json()
    assert [row["name"] for row in degraded["items"]] == ["ok0"]
    slowest = client.get("/api/v1/functions?sort=-p95&limit=1", headers=auth).json()["items"]
    assert [row["name"] for row in slowest] == ["slow"]
