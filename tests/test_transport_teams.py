"""Microsoft Teams workflow webhooks at a local receiver that takes only a message with an
Adaptive Card, as Teams workflows do."""

from __future__ import annotations

import pytest

from alerts import outbox
from alerts.models import Channel
from alerts.transports import TRANSPORTS, ConfigError, Message, TransportError, transport_for
from tests.alert_fixtures import People
from tests.receivers import FormatReceiver

CARD = "application/vnd.microsoft.card.adaptive"


def message(**overrides: object) -> Message:
    values = {
        "event": "firing",
        "alert_id": 7,
        "title": "[high] checkout latency on checkout/pay",
        "text": "p95 1250 ms > 800 ms over 5 min",
        "severity": "high",
        "url": "http://monitor.example.org/alerts/7/",
        "idempotency_key": "delivery-7-1",
        "fields": {"service": "checkout", "subject": "pay"},
    }
    return Message(**{**values, **overrides})


def send(receiver: FormatReceiver, msg: Message) -> dict:
    answer = transport_for("teams", {"url": receiver.url("/workflows/abc/triggers/manual/paths/invoke?sig=s")}).notify(
        msg
    )
    assert answer.startswith("HTTP 202")
    return receiver.wait_for(1)[-1].json()


def test_it_posts_an_adaptive_card_the_workflow_accepts(teams_receiver: FormatReceiver) -> None:
    body = send(teams_receiver, message())

    assert teams_receiver.requests[0].path == "/workflows/abc/triggers/manual/paths/invoke?sig=s"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == CARD
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    headline, text, facts = card["body"]
    assert headline["text"] == "Firing: [high] checkout latency on checkout/pay"
    assert headline["color"] == "Warning"
    assert text["text"] == "p95 1250 ms > 800 ms over 5 min"
    assert {"title": "service", "value": "checkout"} in facts["facts"]
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Open", "url": "http://monitor.example.org/alerts/7/"}
    ]


def test_a_resolve_reads_green(teams_receiver: FormatReceiver) -> None:
    body = send(teams_receiver, message(event="resolved"))

    assert body["attachments"][0]["content"]["body"][0]["color"] == "Good"


def test_a_removed_workflow_disables_the_channel(teams_receiver: FormatReceiver) -> None:
    teams_receiver.respond_with([404])

    with pytest.raises(TransportError) as e:
        transport_for("teams", {"url": teams_receiver.url()}).notify(message())

    assert e.value.permanent and e.value.disable_channel
    assert "sig" not in e.value.message


def test_send_test_works_and_the_api_masks_the_url(
    people: People, teams_receiver: FormatReceiver, no_defaults: None
) -> None:
    url = teams_receiver.url("/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=secret-signature")
    r = people.admin.post("/api/v1/channels", {"name": "teams", "kind": "teams", "config": {"url": url}})
    assert r.status_code == 201, r.content
    assert r.json()["config"] == {"url": "********"}
    assert "secret-signature" not in r.content.decode()

    delivery, result = outbox.send_test(Channel.objects.get())

    assert result.state == "sent", result.error
    card = teams_receiver.wait_for(1)[0].json()["attachments"][0]["content"]
    assert card["body"][0]["text"].startswith("Test: ")


@pytest.mark.parametrize("config", [{}, {"url": ""}, {"url": "javascript:alert(1)"}, {"url": 5}])
def test_it_names_the_bad_url(config: dict) -> None:
    with pytest.raises(ConfigError) as e:
        TRANSPORTS["teams"].clean_config(config)

    assert e.value.field == "config.url"
