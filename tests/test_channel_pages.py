"""The channel pages: admins only; forms that validate like the API; the inline parts."""

from __future__ import annotations

import pytest
from django.test import Client
from pytest_django import Settings

from alerts.models import Channel, Delivery
from monitoring.models import AuditEntry
from tests.alert_fixtures import People, make_rule
from tests.receivers import HttpReceiver

SECRET = "a-long-enough-signing-secret"


def webhook(url: str = "https://hooks.example.org/monitor") -> Channel:
    return Channel.objects.create(name="ops hook", kind="webhook", config={"url": url, "secret": SECRET})


PAGES = ["/channels/", "/channels/new/?kind=slack", "/channels/{id}/", "/channels/{id}/edit/"]


@pytest.mark.parametrize("path", PAGES)
def test_it_sends_anonymous_visitors_to_log_in(no_defaults: None, path: str) -> None:
    channel = webhook()
    r = Client().get(path.format(id=channel.id))
    assert r.status_code == 302 and r["Location"].startswith("/login/")


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("role", ["viewer", "responder"])
def test_it_refuses_viewers_and_responders(people: People, no_defaults: None, path: str, role: str) -> None:
    channel = webhook()
    r = getattr(people, role).client.get(path.format(id=channel.id))
    assert r.status_code == 403
    assert SECRET.encode() not in r.content


POSTS = ["new/", "{id}/edit/", "{id}/enable/", "{id}/disable/", "{id}/delete/", "{id}/test/", "{id}/reveal/"]


@pytest.mark.parametrize("action", POSTS)
@pytest.mark.parametrize("role", ["viewer", "responder"])
def test_non_admins_cannot_act(people: People, no_defaults: None, action: str, role: str) -> None:
    channel = webhook()
    form = {"name": "x", "kind": "log", "key": "secret"}
    r = getattr(people, role).client.post("/channels/" + action.format(id=channel.id), form)
    assert r.status_code == 403
    assert SECRET.encode() not in r.content
    assert Channel.objects.get().name == "ops hook" and not Delivery.objects.exists()
    assert not AuditEntry.objects.exists()


def test_the_list_shows_each_channel_without_its_secret(people: People, no_defaults: None) -> None:
    webhook()
    slack_url = "https://hooks.slack.example.org/services/T0/B0/SECRETPART"
    slack = Channel.objects.create(name="slack", kind="slack", config={"url": slack_url}, rate_per_minute=5)
    slack.disable("Slack says the webhook is gone")
    Delivery.objects.create(channel=slack, event="test", state="dead")
    r = people.admin.client.get("/channels/")
    assert r.status_code == 200
    page = r.content.decode()
    assert "https://hooks.example.org/monitor" in page
    assert "Slack incoming webhook on hooks.slack.example.org" in page
    assert "SECRETPART" not in page and SECRET not in page
    row = page[page.index(f'data-channel="{slack.id}"') :]
    row = row[: row.index("</tr>")]
    assert "disabled" in row and ">5<" in row and "dead" in row


def test_the_list_says_what_to_do_when_empty(people: People, no_defaults: None) -> None:
    page = people.admin.client.get("/channels/").content.decode()
    assert "No channels yet." in page and "New Slack channel" in page


def test_an_admin_creates_a_channel_from_the_form(
    people: People, no_defaults: None, http_receiver: HttpReceiver
) -> None:
    form = {"kind": "slack", "name": "ops slack", "config.url": http_receiver.url("/slack"), "enabled": "on"}
    r = people.admin.client.post("/channels/new/", form)
    channel = Channel.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/channels/{channel.id}/"
    assert channel.kind == "slack" and channel.enabled and channel.rate_per_minute is None
    assert channel.full_config() == {"url": http_receiver.url("/slack")}
    assert AuditEntry.objects.get().action == "created"


def test_the_form_names_the_bad_field_and_keeps_what_was_typed(
    people: People, no_defaults: None, settings: Settings
) -> None:
    settings.MONITOR_ALLOW_PRIVATE_WEBHOOK_TARGETS = False
    form = {"kind": "webhook", "name": "hook", "config.url": "http://10.0.0.5/hook", "config.secret": SECRET}
    r = people.admin.client.post("/channels/new/", form)
    assert r.status_code == 422
    page = r.content.decode()
    assert 'id="id_config_url-error"' in page and "private, loopback or reserved" in page
    assert 'aria-invalid="true" aria-describedby="id_config_url-error"' in page
    assert 'value="http://10.0.0.5/hook"' in page and 'value="hook"' in page
    assert not Channel.objects.exists()

    form = {"kind": "email", "name": "mail", "config.to": "a@example.org\nnot-an-address", "rate_per_minute": "0"}
    r = people.admin.client.post("/channels/new/", form)
    assert r.status_code == 422
    page = r.content.decode()
    assert 'id="rate_per_minute-error"' in page

    form["rate_per_minute"] = "10"
    page = people.admin.client.post("/channels/new/", form).content.decode()
    assert 'id="id_config_to-error"' in page and "&#x27;not-an-address&#x27; is not a valid e-mail address" in page
    assert "a@example.org\nnot-an-address</textarea>" in page


def test_editing_keeps_a_masked_secret_and_replaces_a_typed_one(people: People, no_defaults: None) -> None:
    channel = webhook()
    page = people.admin.client.get(f"/channels/{channel.id}/edit/").content.decode()
    assert SECRET not in page and 'value="********"' in page and 'type="password"' in page
    form = {"name": "ops hook 2", "config.url": "https://hooks.example.org/monitor", "config.secret": "********"}
    r = people.admin.client.post(f"/channels/{channel.id}/edit/", {**form, "enabled": "on"})
    assert r.status_code == 302
    channel.refresh_from_db()
    assert channel.name == "ops hook 2" and channel.full_config()["secret"] == SECRET
    form["config.secret"] = "a-brand-new-signing-secret"
    people.admin.client.post(f"/channels/{channel.id}/edit/", form)  # the box unticked: disabled too
    channel.refresh_from_db()
    assert channel.full_config()["secret"] == "a-brand-new-signing-secret" and not channel.enabled


def test_disable_enable_and_delete(people: People, no_defaults: None) -> None:
    channel = webhook()
    client = people.admin.client
    assert client.post(f"/channels/{channel.id}/disable/").status_code == 302
    channel.refresh_from_db()
    assert not channel.enabled and channel.disabled_reason == "disabled by an admin"
    page = client.get(f"/channels/{channel.id}/").content.decode()
    assert "Disabled: disabled by an admin" in page and "/enable/" in page
    client.post(f"/channels/{channel.id}/enable/")
    channel.refresh_from_db()
    assert channel.enabled
    page = client.get(f"/channels/{channel.id}/").content.decode()
    assert "data-confirm=" in page and "Delete channel “ops hook”?" in page
    assert client.get(f"/channels/{channel.id}/delete/").status_code == 405
    r = client.post(f"/channels/{channel.id}/delete/", follow=True)
    assert "Channel “ops hook” deleted." in r.content.decode()
    assert not Channel.objects.exists()
    actions = list(AuditEntry.objects.order_by("at", "id").values_list("action", flat=True))
    assert actions == ["disabled", "enabled", "deleted"]


def test_the_channel_page_shows_limits_deliveries_and_history(people: People, no_defaults: None) -> None:
    channel = webhook()
    make_rule(channel, name="payments errors", cooldown_minutes=45)
    dead = Delivery.objects.create(channel=channel, event="test", state="dead", last_error="connection refused")
    people.admin.client.post(f"/channels/{channel.id}/disable/")
    page = people.admin.client.get(f"/channels/{channel.id}/").content.decode()
    assert "30 a minute" in page and "(the site's default)" in page
    assert "payments errors" in page and "45 min" in page
    assert "connection refused" in page and f"/channels/{channel.id}/deliveries/{dead.id}/retry/" in page
    assert "alice</strong> disabled" in page
    assert SECRET not in page and "********" in page and "Reveal" in page

    r = people.admin.client.post(f"/channels/{channel.id}/deliveries/{dead.id}/retry/", follow=True)
    assert f"Delivery #{dead.id} queued again." in r.content.decode()
    assert Delivery.objects.get(id=dead.id).state != "dead"


def test_send_test_shows_the_answer_inline(people: People, no_defaults: None, http_receiver: HttpReceiver) -> None:
    channel = webhook(http_receiver.url("/hook"))
    r = people.admin.client.post(f"/channels/{channel.id}/test/", headers={"HX-Request": "true"})
    assert r.status_code == 200
    fragment = r.content.decode()
    assert "<html" not in fragment
    assert "Delivered." in fragment and "HTTP 200 ok" in fragment and "Took" in fragment
    assert http_receiver.requests[0].json()["event"] == "test"

    http_receiver.respond_with([404], body="no_service")
    fragment = people.admin.client.post(f"/channels/{channel.id}/test/", headers={"HX-Request": "true"}).content
    assert b"Failed." in fragment and b"127.0.0.1 answered 404" in fragment


def test_reveal_shows_the_secret_and_records_who_asked(people: People, no_defaults: None) -> None:
    channel = webhook()
    r = people.admin.client.post(f"/channels/{channel.id}/reveal/", {"key": "secret"}, headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert SECRET in r.content.decode() and 'data-copy="#secret-secret-value"' in r.content.decode()
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor_name, entry.after) == ("revealed", "alice", {"secret": "secret"})
    page = people.admin.client.get(f"/channels/{channel.id}/").content.decode()
    assert "alice</strong> revealed" in page
    assert SECRET not in page
