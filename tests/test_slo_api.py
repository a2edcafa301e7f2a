"""The SLO endpoints: anonymous 401, every role reads, admins configure; refusals name the
field; budget left is exact against seeded buckets and roll-ups (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from alerts.models import SLO, Rule
from monitoring import histogram
from monitoring.models import AuditEntry
from monitoring.ranges import minute_cutoff
from tests.alert_fixtures import People
from tests.slo_fixtures import NOW, make_function, make_slo, seed_hours, seed_minutes

BODY = {"name": "checkout succeeds", "service": "payments", "function": "charge", "target": 99.9}


def calls(slo_id: int) -> list[tuple[str, str, dict | None]]:
    return [
        ("get", "/api/v1/slos", None),
        ("get", f"/api/v1/slos/{slo_id}", None),
        ("get", f"/api/v1/slos/{slo_id}/budget", None),
        ("post", "/api/v1/slos", {**BODY, "name": "another"}),
        ("put", f"/api/v1/slos/{slo_id}", {**BODY, "target": 99.5}),
        ("delete", f"/api/v1/slos/{slo_id}", None),
    ]


def send(client: Client, method: str, path: str, body: dict | None) -> int:
    if body is None:
        return getattr(client, method)(path).status_code
    return getattr(client, method)(path, body, content_type="application/json").status_code


def test_anonymous_gets_401_everywhere(people: People, no_defaults: None) -> None:
    slo = make_slo(make_function())
    for method, path, body in calls(slo.id):
        assert send(Client(), method, path, body) == 401, (method, path)
    assert SLO.objects.get().target == 99.9


@pytest.mark.parametrize("role", ["viewer", "responder"])
def test_viewers_and_responders_read_but_do_not_configure(people: People, no_defaults: None, role: str) -> None:
    slo = make_slo(make_function())
    client = getattr(people, role).client
    expected = [200, 200, 200, 403, 403, 403]
    assert [send(client, m, p, b) for m, p, b in calls(slo.id)] == expected
    assert SLO.objects.get().target == 99.9
    assert SLO.objects.count() == 1


def test_admins_create_replace_and_delete_with_audit(people: People, no_defaults: None) -> None:
    make_function()
    r = people.admin.post("/api/v1/slos", BODY)
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["scope"], body["objective_text"], body["window_days"]) == (
        "payments/charge",
        "99.9 % of calls succeed",
        30,
    )
    assert [(a["name"], a["burn_rate"], a["budget_percent"]) for a in body["alerts"]] == [
        ("fast", 14.4, 2.0),
        ("medium", 6.0, 5.0),
        ("slow", 1.0, 10.0),
    ]
    assert (body["budget_left"], body["state"]) == (1.0, "no data")

    slow_only = [{"name": "slow", "long_minutes": 1440, "short_minutes": 120, "burn_rate": 2, "severity": "low"}]
    changed = {**BODY, "target": 99.5, "window_days": 7, "burn_alerts": slow_only, "function": None}
    r = people.admin.client.put(f"/api/v1/slos/{body['id']}", changed, content_type="application/json")
    assert r.status_code == 200, r.content
    assert (r.json()["scope"], r.json()["alerts"][0]["budget_percent"]) == ("payments (all functions)", 28.57)
    rule = Rule.objects.get(slo__id=body["id"])
    assert (rule.service, rule.subject, rule.severity) == ("payments", "*", "low")
    # The SLO's rule is not one people edit: it is not among the rules.
    assert people.admin.get("/api/v1/rules").json()["count"] == 0
    assert people.admin.get(f"/api/v1/rules/{rule.id}").status_code == 404

    assert people.admin.delete(f"/api/v1/slos/{body['id']}").status_code == 204
    assert not SLO.objects.exists() and not Rule.objects.exists()
    entries = AuditEntry.objects.filter(kind="slo").order_by("id")
    assert [e.action for e in entries] == ["created", "updated", "deleted"]
    assert entries[1].before["target"] == 99.9 and entries[1].after["target"] == 99.5
    assert (entries[1].before["window_days"], entries[1].after["window_days"]) == (30, 7)
    assert entries[1].after["burn_alerts"] == slow_only


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"target": 100}, "target"),
        ({"target": 0}, "target"),
        ({"function": "nope"}, "function"),
        ({"service": "nope"}, "service"),
        ({"window_days": 14}, "window_days"),
        ({"objective": "latency"}, "latency_ms"),
        ({"channels": [999]}, "channels[0]"),
        (
            {"burn_alerts": [{"name": "x", "long_minutes": 5, "short_minutes": 60, "burn_rate": 2, "severity": "low"}]},
            "burn_alerts[0].short_minutes",
        ),
    ],
)
def test_it_refuses_bad_input_naming_the_field(people: People, no_defaults: None, change: dict, field: str) -> None:
    make_function()
    r = people.admin.post("/api/v1/slos", {**BODY, **change})
    assert r.status_code == 422, r.content
    assert r.json()["field"] == field
    assert not SLO.objects.exists()


def test_budget_left_is_exact_against_buckets_and_roll_ups(people: People, no_defaults: None) -> None:
    function = make_function()
    other = make_function(name="refund")
    slo = make_slo(function)
    cutoff = minute_cutoff(NOW)
    window_start = NOW - timedelta(days=30)
    # Minute buckets since the cutoff (14 days): 4 bad of 1,000 a minute for a day, then clean.
    seed_minutes(function, 24 * 60, calls=1000, bad=4, end=NOW - timedelta(days=2))
    seed_minutes(function, 60, calls=500, bad=1)
    # Hourly roll-ups before it, some older than the window (not counted).
    first_hour = cutoff - timedelta(days=20)
    seed_hours(function, first_hour, 20 * 24, calls=60_000, bad=30)
    seed_minutes(other, 60, calls=1000, bad=500)  # another function: not this SLO's

    counted_hours = sum(1 for i in range(20 * 24) if first_hour + timedelta(hours=i + 1) > window_start)
    good = 24 * 60 * 996 + 60 * 499 + counted_hours * 59_970
    total = 24 * 60 * 1000 + 60 * 500 + counted_hours * 60_000
    expected = 1 - ((total - good) / total) / 0.001

    with time_machine.travel(NOW, tick=False):
        body = people.viewer.get(f"/api/v1/slos/{slo.id}").json()
        series = people.viewer.get(f"/api/v1/slos/{slo.id}/budget").json()
    assert (body["good"], body["total"]) == (good, total)
    assert body["budget_left"] == pytest.approx(expected, abs=1e-6)
    assert series[-1]["budget_left"] == pytest.approx(expected, abs=1e-6)
    assert series[0]["budget_left"] <= 1.0
    assert len(series) in (720, 721)
    # The last hour: 1 bad of 500 calls a minute, 0.2 % against a 0.1 % budget: 2x.
    assert body["alerts"][0]["long_burn"] == pytest.approx((60 * 1) / (60 * 500) / 0.001)


def test_a_latency_objective_counts_calls_under_the_threshold(people: People, no_defaults: None) -> None:
    function = make_function()
    slo = make_slo(function, objective="latency", latency_ms=800, target=99)
    fast, slow = histogram.bucket_of(120.0), histogram.bucket_of(2500.0)
    straddling = histogram.bucket_of(800.0)  # holds 800 ms itself: counts as slow
    per_minute = {str(fast): 90, str(straddling): 4, str(slow): 6}
    seed_minutes(function, 120, calls=100, bad=0, histogram=per_minute)

    with time_machine.travel(NOW, tick=False):
        body = people.viewer.get(f"/api/v1/slos/{slo.id}").json()
    assert (body["good"], body["total"]) == (120 * 90, 120 * 100)
    assert body["objective_text"] == "99 % of calls under 800 ms"
    assert body["budget_left"] == pytest.approx(1 - 0.10 / 0.01)
    assert body["alerts"][0]["long_burn"] == pytest.approx(10)
