"""Discord webhooks at a local receiver that answers like Discord (204; 400 for a bad embed)."""

from __future__ import annotations

import pytest

from alerts import outbox
from alerts.models import Channel
from alerts.transports import TRANSPORTS, ConfigError, Message, TransportError, transport_for
from tests.alert_fixtures import People
from tests.receivers import FormatReceiver


def message(**overrides: object) -> Message:
    values = {
        "event": "firing",
        "alert_id": 9,
        "title": "[critical] @everyone payments errors on payments/charge",
        "text": "error_rate is 0.5 (> 0.2)",
        "severity": "critical",
        "url": "http://monitor.example.org/alerts/9/",
        "idempotency_key": "delivery-9-1",
        "fields": {f"field{i}": "x" * 2000 for i in range(30)},
    }
    return Message(**{**values, **overrides})


def hook(receiver: FormatReceiver) -> str:
    return receiver.url("/api/webhooks/123456/token-abc_DEF")


def test_it_posts_content_and_an_embed_within_discords_limits(discord_receiver: FormatReceiver) -> None:
    answer = transport_for("discord", {"url": hook(discord_receiver)}).notify(message())

    assert answer.startswith("HTTP 204")
    body = discord_receiver.wait_for(1)[0].json()
    assert body["content"] == "Firing: [critical] @everyone payments errors on payments/charge"
    assert body["allowed_mentions"] == {"parse": []}  # the @everyone above pings nobody
    [embed] = body["embeds"]
    assert embed["url"] == "http://monitor.example.org/alerts/9/"
    assert embed["color"] == 0xD62728
    assert embed["description"] == "error_rate is 0.5 (> 0.2)"
    assert embed["fields"][0] == {"name": "Severity", "value": "critical", "inline": True}
    # 30 fields of 2000 characters: cut to Discord's 1024 a value, and to 6000 in all.
    assert 1 < len(embed["fields"]) < 25 and all(len(f["value"]) <= 1024 for f in embed["fields"])
    assert sum(len(f["name"]) + len(f["value"]) for f in embed["fields"]) <= 6000 - len(embed["description"])


def test_a_resolve_is_green(discord_receiver: FormatReceiver) -> None:
    transport_for("discord", {"url": hook(discord_receiver)}).notify(message(event="resolved", fields={}))

    assert discord_receiver.wait_for(1)[0].json()["embeds"][0]["color"] == 0x2CA02C


@pytest.mark.parametrize("status", [401, 404])
def test_a_deleted_webhook_disables_the_channel(discord_receiver: FormatReceiver, status: int) -> None:
    discord_receiver.respond_with([status], body='{"message": "Unknown Webhook", "code": 10015}')

    with pytest.raises(TransportError) as e:
        transport_for("discord", {"url": hook(discord_receiver)}).notify(message())

    assert e.value.permanent and e.value.disable_channel
    assert "token-abc_DEF" not in e.value.message


def test_a_rate_limit_waits_as_discord_asks(discord_receiver: FormatReceiver) -> None:
    discord_receiver.respond_with([429], headers={"Retry-After": "7"})

    with pytest.raises(TransportError) as e:
        transport_for("discord", {"url": hook(discord_receiver)}).notify(message())

    assert not e.value.permanent and e.value.retry_after == 7


def test_send_test_works_and_the_api_masks_the_url(
    people: People, discord_receiver: FormatReceiver, no_defaults: None
) -> None:
    r = people.admin.post(
        "/api/v1/channels", {"name": "d", "kind": "discord", "config": {"url": hook(discord_receiver)}}
    )
    assert r.status_code == 201, r.content
    assert r.json()["config"] == {"url": "********"}
    assert "token-abc_DEF" not in r.content.decode()

    delivery, result = outbox.send_test(Channel.objects.get())

    assert result.state == "sent", result.error
    assert discord_receiver.wait_for(1)[0].json()["content"].startswith("Test: ")


@pytest.mark.parametrize(
    "config",
    [{}, {"url": "https://discord.com/channels/1/2"}, {"url": "ftp://discord.com/api/webhooks/1/x"}],
)
def test_it_names_the_bad_url(config: dict) -> None:
    with pytest.raises(ConfigError) as e:
        TRANSPORTS["discord"].clean_config(config)

    assert e.value.field == "config.url"


def test_the_api_names_the_bad_url(people: People, no_defaults: None) -> None:
    r = people.admin.post(
        "/api/v1/channels", {"name": "d", "kind": "discord", "config": {"url": "https://discord.com/channels/1/2"}}
    )
    assert r.status_code == 422
    assert r.json()["detail"] == "config.url: must be a Discord webhook URL, …/api/webhooks/ID/TOKEN"
