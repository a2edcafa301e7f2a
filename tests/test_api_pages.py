"""Every list of the API comes a page at a time: ?limit=&offset=, answered {"items", "count"}."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Channel, Delivery, Rule, Silence
from tests.alert_fixtures import People, make_alert, make_rule
from tests.conftest import Reporter, call, now_iso

LISTS = [
    "/api/v1/functions",
    "/api/v1/queues",
    "/api/v1/alerts",
    "/api/v1/rules",
    "/api/v1/channels",
    "/api/v1/silences",
    "/api/v1/deliveries",
]


@pytest.fixture
def three_of_each(people: People, no_defaults: None, reporter: Reporter) -> None:
    """Three items in every list."""
    names = ["a", "b", "c"]
    reporter.post(
        {
            "calls": [call(name) for name in names],
            "queues": [{"queue": name, "ts": now_iso(), "depth": 1} for name in names],
        }
    )
    channels = [Channel.objects.create(name=name, kind="log", config={}) for name in names]
    rules = [make_rule(channels[0], name=name) for name in names]
    for i, rule in enumerate(rules):
        alert = make_alert(rule, fingerprint=f"function:{i}")
        Delivery.objects.create(alert=alert, channel=channels[0], event="firing")
    now = timezone.now()
    for name in names:
        Silence.objects.create(service=name, starts_at=now, ends_at=now + timedelta(hours=1))


@pytest.mark.parametrize("path", LISTS)
def test_it_pages_every_list(people: People, three_of_each: None, path: str) -> None:
    everything = people.viewer.get(path).json()
    assert everything["count"] == 3 and len(everything["items"]) == 3
    second = people.viewer.get(path, limit=1, offset=1).json()
    assert second["count"] == 3
    assert [item["id"] for item in second["items"]] == [everything["items"][1]["id"]]
    past = people.viewer.get(path, offset=3).json()
    assert (past["items"], past["count"]) == ([], 3)


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize(
    "query", [{"offset": 2**63}, {"offset": 10**9 + 1}, {"offset": -1}, {"limit": 501}, {"limit": 0}]
)
def test_it_refuses_a_page_out_of_bounds(people: People, no_defaults: None, path: str, query: dict) -> None:
    r = people.viewer.get(path, **query)
    assert r.status_code == 422, r.content
    assert next(iter(query)) in r.content.decode()


def test_it_sorts_functions_by_their_figures_across_pages(people: People, reporter: Reporter) -> None:
    reporter.post({"calls": [call("calm")] * 5 + [call("busy")] * 9 + [call("quiet")]})
    first = people.viewer.get("/api/v1/functions", sort="-calls", limit=2).json()
    rest = people.viewer.get("/api/v1/functions", sort="-calls", limit=2, offset=2).json()
    assert [f["name"] for f in first["items"] + rest["items"]] == ["busy", "calm", "quiet"]
    assert first["count"] == rest["count"] == 3


def test_the_alerts_page_and_the_api_show_the_same_alerts(people: People, no_defaults: None) -> None:
    rule = make_rule(name="payments errors")
    alerts = [make_alert(rule, fingerprint=f"function:{i}", subject=f"fn{i}") for i in range(3)]
    page = people.viewer.client.get("/alerts/", {"offset": 1})
    api = people.viewer.get("/api/v1/alerts", offset=1, limit=100).json()
    assert [a["id"] for a in page.context["alerts"]] == [a["id"] for a in api["items"]] == [alerts[1].id, alerts[0].id]
    assert page.context["pager"]["count"] == api["count"] == 3
    assert not Rule.objects.exclude(id=rule.id).exists()
