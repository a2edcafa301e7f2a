"""PagerDuty Events API v2 at a local receiver that answers like PagerDuty: trigger on
firing, acknowledge and resolve mirrored, the same dedup_key for all three: one per
incident, so PagerDuty's incident is ours (several alerts of it, one there)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from pytest_django import DjangoCaptureOnCommitCallbacks

from alerts import incidents, lifecycle, outbox
from alerts.models import Alert, Channel, Incident, Rule
from alerts.transports import TRANSPORTS, ConfigError, TransportError
from tests.alert_fixtures import People, make_rule
from tests.receivers import FormatReceiver, HttpReceiver

KEY = "R0123456789abcdefABCDEF012345678"
# An incident's first notice at once: these tests are about what PagerDuty hears.
pytestmark = pytest.mark.usefixtures("notify_at_once")


def pagerduty(receiver: FormatReceiver) -> Channel:
    return Channel.objects.create(
        name="pager", kind="pagerduty", config={"routing_key": KEY, "url": receiver.url("/v2/enqueue")}
    )


def fire(rule: Rule) -> Alert:
    alert = lifecycle.fire(rule, lifecycle.Observation("function:1", "payments", "charge", 0.5))
    assert alert is not None
    return alert


def test_it_mirrors_firing_acknowledge_and_resolve_with_one_dedup_key(
    people: People,
    pagerduty_receiver: FormatReceiver,
    no_defaults: None,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    rule = make_rule(pagerduty(pagerduty_receiver))
    with django_capture_on_commit_callbacks(execute=True):
        alert = fire(rule)
    with django_capture_on_commit_callbacks(execute=True):
        assert people.responder.post(f"/api/v1/alerts/{alert.id}/acknowledge").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert people.responder.post(f"/api/v1/alerts/{alert.id}/resolve").status_code == 200

    trigger, ack, resolve = (r.json() for r in pagerduty_receiver.wait_for(3))
    assert [trigger["event_action"], ack["event_action"], resolve["event_action"]] == [
        "trigger",
        "acknowledge",
        "resolve",
    ]
    assert {trigger["routing_key"], ack["routing_key"], resolve["routing_key"]} == {KEY}
    key = f"resilience-monitor:incident:{alert.incident_id}"
    assert trigger["dedup_key"] == ack["dedup_key"] == resolve["dedup_key"] == key
    payload = trigger["payload"]
    assert payload["summary"] == "[critical] payments errors on payments/charge"
    assert (payload["severity"], payload["source"]) == ("critical", "payments/charge")
    assert payload["custom_details"]["value"] == "0.5"
    assert trigger["links"] == [
        {"href": f"http://127.0.0.1:8000/incidents/{alert.incident_id}/", "text": "Open in Resilience Monitor"}
    ]
    assert all(d.state == "sent" for d in alert.deliveries.all())
    assert [d.event for d in alert.deliveries.order_by("id")] == ["firing", "acknowledged", "resolved"]


def test_one_incident_of_several_alerts_is_one_pagerduty_incident(
    people: People,
    pagerduty_receiver: FormatReceiver,
    no_defaults: None,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    channel = pagerduty(pagerduty_receiver)
    with django_capture_on_commit_callbacks(execute=True):
        errors = fire(make_rule(channel))
        busy = fire(make_rule(channel, name="busy", metric="call_volume", threshold=25, severity="low"))
    incident = Incident.objects.get()
    assert errors.incident_id == busy.incident_id == incident.id
    # One alert of two acknowledged: the incident still fires, PagerDuty's is not acknowledged.
    with django_capture_on_commit_callbacks(execute=True):
        assert people.responder.post(f"/api/v1/alerts/{errors.id}/acknowledge").status_code == 200
    assert [r.json()["event_action"] for r in pagerduty_receiver.wait_for(1)] == ["trigger"]
    with django_capture_on_commit_callbacks(execute=True):
        assert people.responder.post(f"/api/v1/incidents/{incident.id}/acknowledge").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert people.responder.post(f"/api/v1/incidents/{incident.id}/resolve").status_code == 200

    events = [r.json() for r in pagerduty_receiver.wait_for(3)]
    assert [e["event_action"] for e in events] == ["trigger", "acknowledge", "resolve"]
    assert {e["dedup_key"] for e in events} == {f"resilience-monitor:incident:{incident.id}"}


def test_only_pagerduty_hears_of_an_acknowledgement(
    people: People,
    pagerduty_receiver: FormatReceiver,
    http_receiver: HttpReceiver,
    no_defaults: None,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    slack = Channel.objects.create(name="slack", kind="slack", config={"url": http_receiver.url("/slack")})
    rule = make_rule(pagerduty(pagerduty_receiver), slack)
    with django_capture_on_commit_callbacks(execute=True):
        alert = fire(rule)
        lifecycle.acknowledge(alert, people.responder.user)

    assert len(pagerduty_receiver.wait_for(2)) == 2
    assert [r.json()["text"][:7] for r in http_receiver.wait_for(1)] == ["Firing:"]
    assert list(alert.deliveries.filter(channel=slack).values_list("event", flat=True)) == ["firing"]


def test_it_sends_no_reminders_pagerduty_escalates_by_itself(
    pagerduty_receiver: FormatReceiver, no_defaults: None
) -> None:
    alert = fire(make_rule(pagerduty(pagerduty_receiver)))
    Incident.objects.filter(id=alert.incident_id).update(next_reminder_at=timezone.now() - timedelta(minutes=1))

    assert incidents.remind_due(timezone.now() + timedelta(hours=2)) == 1  # due, and nothing to send

    assert alert.deliveries.filter(event="firing").exists()
    assert not alert.deliveries.filter(event="reminder").exists()


def test_a_silence_still_lets_pagerduty_close_its_incident(
    pagerduty_receiver: FormatReceiver,
    no_defaults: None,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        alert = fire(make_rule(pagerduty(pagerduty_receiver)))
    lifecycle.suppress(alert, None, 60)
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.resolve(alert)

    assert [r.json()["event_action"] for r in pagerduty_receiver.wait_for(2)] == ["trigger", "resolve"]
    held = alert.incident.events.get(action="notification held").detail
    assert held.startswith("resolved: silenced until ") and held.endswith("; still sent to 'pager', which mirrors it")


def test_an_acknowledgement_of_an_alert_it_never_heard_of_is_not_sent(
    pagerduty_receiver: FormatReceiver, no_defaults: None
) -> None:
    channel = pagerduty(pagerduty_receiver)
    alert = fire(make_rule())
    alert.rule.channels.set([channel])

    lifecycle.acknowledge(alert, None)

    assert not alert.deliveries.exists()


def test_a_test_opens_and_closes_its_own_incident(pagerduty_receiver: FormatReceiver, no_defaults: None) -> None:
    delivery, result = outbox.send_test(pagerduty(pagerduty_receiver))

    assert result.state == "sent", result.error
    trigger, resolve = (r.json() for r in pagerduty_receiver.wait_for(2))
    assert (trigger["event_action"], resolve["event_action"]) == ("trigger", "resolve")
    assert trigger["dedup_key"] == resolve["dedup_key"] == f"resilience-monitor:test:{delivery.idempotency_key}"
    assert result.answer.count("HTTP 202") == 2


def test_a_refused_event_is_permanent_with_pagerdutys_reason(
    pagerduty_receiver: FormatReceiver, no_defaults: None
) -> None:
    pagerduty_receiver.respond_with([400], body='{"status":"invalid event","errors":["routing_key not found"]}')

    delivery, result = outbox.send_test(pagerduty(pagerduty_receiver))

    assert result.state == "dead"
    assert "PagerDuty refused the event" in result.error and "routing_key not found" in result.error
    assert KEY not in result.error


def test_a_throttled_event_is_retried_after_its_wait(pagerduty_receiver: FormatReceiver) -> None:
    pagerduty_receiver.respond_with([429], headers={"Retry-After": "30"})
    transport = TRANSPORTS["pagerduty"]({"routing_key": KEY, "url": pagerduty_receiver.url("/v2/enqueue")})
    message = outbox.Message(**{**outbox.test_message(), "idempotency_key": "k"})

    with pytest.raises(TransportError) as e:
        transport.notify(message)

    assert not e.value.permanent and e.value.retry_after == 30


def test_it_cleans_its_config_with_the_public_events_url_by_default() -> None:
    cleaned = TRANSPORTS["pagerduty"].clean_config({"routing_key": f" {KEY} "})
    assert cleaned == {"routing_key": KEY}
    transport = TRANSPORTS["pagerduty"](cleaned)
    assert transport.url() == "https://events.pagerduty.com/v2/enqueue"
    assert transport.target() == "PagerDuty Events API v2 on events.pagerduty.com"
    assert transport.recipients()[0].startswith("pagerduty:sha256:")


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({}, "config.routing_key"),
        ({"routing_key": "short"}, "config.routing_key"),
        ({"routing_key": KEY[:-1] + "!"}, "config.routing_key"),
        ({"routing_key": KEY, "url": "ftp://events.example.org"}, "config.url"),
    ],
)
def test_it_names_the_bad_field(config: dict, field: str) -> None:
    with pytest.raises(ConfigError) as e:
        TRANSPORTS["pagerduty"].clean_config(config)

    assert e.value.field == field


def test_the_api_masks_the_routing_key_and_names_a_bad_one(people: People, no_defaults: None) -> None:
    r = people.admin.post("/api/v1/channels", {"name": "pd", "kind": "pagerduty", "config": {"routing_key": "x"}})
    assert r.status_code == 422 and r.json()["detail"].startswith("config.routing_key: ")

    r = people.admin.post("/api/v1/channels", {"name": "pd", "kind": "pagerduty", "config": {"routing_key": KEY}})
    assert r.status_code == 201, r.content
    assert r.json()["config"] == {"routing_key": "********"}
    assert KEY not in r.content.decode()
    channel = Channel.objects.get()
    assert KEY not in str(channel.config) and channel.full_config()["routing_key"] == KEY
    for person in (people.viewer, people.responder, people.admin):
        assert KEY not in person.get(f"/api/v1/channels/{channel.id}").content.decode()


def test_acknowledging_a_silenced_alert_without_pagerduty_writes_no_held_line(
    people: People, log_channel: Channel
) -> None:
    alert = fire(make_rule(log_channel))
    lifecycle.suppress(alert, None, 60)

    lifecycle.acknowledge(alert, people.responder.user)

    assert not alert.events.filter(action="notification held", detail__startswith="acknowledged").exists()
    assert not alert.deliveries.filter(event="acknowledged").exists()
