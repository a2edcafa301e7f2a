from __future__ import annotations

from django.test import Client

from alerts.models import Channel
from tests.alert_fixtures import People, make_alert, make_rule

ALERT_KEYS = {
    "id",
    "rule",
    "service",
    "subject",
    "metric",
    "severity",
    "state",
    "suppressed_until",
    "started_at",
    "acknowledged_at",
    "acknowledged_by",
    "resolved_at",
    "value",
    "threshold",
    "summary",
    "incident_id",
    "flaps",
    "inhibited_by",
}
DELIVERY_KEYS = {"id", "channel", "kind", "state", "attempts", "last_error", "next_attempt_at", "sent_at"}


def test_it_lists_alerts_by_state_a_page_at_a_time(people: People, log_channel: Channel) -> None:
    rule = make_rule(log_channel)
    firing = [make_alert(rule, fingerprint=f"function:{i}", subject=f"f{i}") for i in range(3)]
    make_alert(rule, fingerprint="function:9", state="resolved")
    page = people.viewer.get("/api/v1/alerts", state="firing", limit=2, offset=0).json()
    assert page["count"] == 3 and len(page["items"]) == 2
    rest = people.viewer.get("/api/v1/alerts", state="firing", limit=2, offset=2).json()
    assert {a["id"] for a in page["items"] + rest["items"]} == {a.id for a in firing}
    assert set(page["items"][0]) == ALERT_KEYS
    assert page["items"][0]["rule"] == {"id": rule.id, "name": "payments errors"}
    assert people.viewer.get("/api/v1/alerts", state="resolved").json()["count"] == 1
    assert people.viewer.get("/api/v1/alerts").json()["count"] == 4


def test_it_names_a_bad_filter(people: People, no_defaults: None) -> None:
    r = people.viewer.get("/api/v1/alerts", state="sleeping")
    assert r.status_code == 422
    assert r.json()["detail"].startswith("state: ")


def test_it_shows_the_timeline_and_deliveries(people: People, log_channel: Channel) -> None:
    alert = make_alert(make_rule(log_channel))
    alert.deliveries.create(channel=log_channel, event="firing", state="dead", attempts=6, last_error="boom")
    people.responder.post(f"/api/v1/alerts/{alert.id}/comment", {"text": "looking"})
    body = people.viewer.get(f"/api/v1/alerts/{alert.id}").json()
    assert set(body) == ALERT_KEYS | {"timeline", "deliveries"}
    assert body["timeline"] == [{**body["timeline"][0], "actor": "bob", "action": "comment", "detail": "looking"}]
    delivery = body["deliveries"][0]
    assert DELIVERY_KEYS <= set(delivery)
    assert (delivery["channel"], delivery["kind"], delivery["state"], delivery["last_error"]) == (
        "log",
        "log",
        "dead",
        "boom",
    )


def test_it_asks_who_is_asking(client: Client, no_defaults: None) -> None:
    assert client.get("/api/v1/alerts").status_code == 401
