"""The channel forms for PagerDuty, Teams and Discord: admins only, validated like the API
(the bad field named under its input), secrets masked and kept when sent back masked."""

from __future__ import annotations

import pytest
from django.test import Client

from alerts.models import Channel
from tests.alert_fixtures import People

KEY = "R0123456789abcdefABCDEF012345678"
TEAMS_URL = "https://prod-01.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=SIGPART"
DISCORD_URL = "https://discord.com/api/webhooks/123456/TOKENPART"
GOOD = {
    "pagerduty": ({"config.routing_key": KEY}, KEY),
    "teams": ({"config.url": TEAMS_URL}, "SIGPART"),
    "discord": ({"config.url": DISCORD_URL}, "TOKENPART"),
}
BAD = {
    "pagerduty": ({"config.routing_key": "not-a-key"}, "id_config_routing_key", "integration key"),
    "teams": ({"config.url": "ftp://example.org/x"}, "id_config_url", "must start with http:// or https://"),
    "discord": ({"config.url": "https://discord.com/channels/1/2"}, "id_config_url", "must be a Discord webhook URL"),
}
KINDS = list(GOOD)


@pytest.mark.parametrize("kind", KINDS)
def test_anonymous_visitors_log_in_and_only_admins_see_the_form(people: People, no_defaults: None, kind: str) -> None:
    path = f"/channels/new/?kind={kind}"
    r = Client().get(path)
    assert r.status_code == 302 and r["Location"].startswith("/login/")
    assert people.viewer.client.get(path).status_code == 403
    assert people.responder.client.get(path).status_code == 403
    assert (
        people.responder.client.post("/channels/new/", {"kind": kind, "name": "x", **GOOD[kind][0]}).status_code == 403
    )
    assert not Channel.objects.exists()
    r = people.admin.client.get(path)
    assert r.status_code == 200
    assert f'<input type="hidden" name="kind" value="{kind}">' in r.content.decode()


@pytest.mark.parametrize("kind", KINDS)
def test_a_bad_field_is_named_under_its_input_and_what_was_typed_kept(
    people: People, no_defaults: None, kind: str
) -> None:
    values, field_id, message = BAD[kind]
    r = people.admin.client.post("/channels/new/", {"kind": kind, "name": "paging", "enabled": "on", **values})

    assert r.status_code == 422
    html = r.content.decode()
    assert f'<p class="field-error" id="{field_id}-error">' in html and message in html
    assert f'aria-invalid="true" aria-describedby="{field_id}-error"' in html
    assert 'value="paging"' in html
    assert not Channel.objects.exists()


@pytest.mark.parametrize("kind", KINDS)
def test_an_admin_creates_the_channel_and_its_secret_stays_masked(people: People, no_defaults: None, kind: str) -> None:
    values, secret_part = GOOD[kind]
    r = people.admin.client.post("/channels/new/", {"kind": kind, "name": "paging", "enabled": "on", **values})

    channel = Channel.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/channels/{channel.id}/"
    assert channel.kind == kind and secret_part not in str(channel.config)
    for path in (f"/channels/{channel.id}/", f"/channels/{channel.id}/edit/", "/channels/"):
        assert secret_part not in people.admin.client.get(path).content.decode()
    # Saved back with the mask, the stored secret stays.
    masked = {name: "********" for name in values}
    r = people.admin.client.post(f"/channels/{channel.id}/edit/", {"name": "renamed", "enabled": "on", **masked})
    assert r.status_code == 302
    channel.refresh_from_db()
    assert channel.name == "renamed"
    assert secret_part in str(channel.full_config())


def test_the_list_offers_the_new_kinds(people: People, no_defaults: None) -> None:
    html = people.admin.client.get("/channels/").content.decode()
    for label in ("New PagerDuty channel", "New Microsoft Teams channel", "New Discord channel"):
        assert label in html
