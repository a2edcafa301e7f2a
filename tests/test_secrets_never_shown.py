"""No answer shows a stored channel secret: not one GET of the API (every one in its OpenAPI
document, so endpoints added later are checked too), not one page or fragment, for any role.
Only an admin's reveal does. Deliveries have run, one failing with an error that held the
Slack URL, so the secrets had every chance to leak into errors and timelines."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from alerts import lifecycle
from alerts.delivery import send
from alerts.models import Channel, Delivery
from resilience_site.api import api
from tests.alert_fixtures import People, make_rule
from tests.receivers import HttpReceiver

# Not about grouping or hysteresis: notices go without a group wait, clear conditions resolve at once.
pytestmark = pytest.mark.usefixtures("notify_at_once")

WEBHOOK_SECRET = "webhook-signing-secret-never-shown"
PREVIOUS_SECRET = "previous-signing-secret-never-shown"
SMTP_PASSWORD = "smtp-password-never-shown"
SLACK_PATH = "/services/T0AAA/B0BBB/slack-token-never-shown"
SMTP = {"smtp_host": "127.0.0.1", "smtp_port": 1, "smtp_security": "none", "smtp_username": "monitor"}
SECRETS = [WEBHOOK_SECRET, PREVIOUS_SECRET, SMTP_PASSWORD, "slack-token-never-shown"]


@pytest.fixture
def world(people: People, no_defaults: None, http_receiver: HttpReceiver) -> dict[str, int]:
    hook = Channel.objects.create(
        name="hook",
        kind="webhook",
        config={"url": http_receiver.url("/hook"), "secret": WEBHOOK_SECRET, "previous_secret": PREVIOUS_SECRET},
    )
    # A port no URL may have: the send refuses it with an error quoting the URL, the secret.
    slack = Channel.objects.create(name="slack", kind="slack", config={"url": f"http://127.0.0.1:99999{SLACK_PATH}"})
    mail = Channel.objects.create(
        name="mail",
        kind="email",
        config={"to": ["oncall@example.org"], **SMTP, "smtp_password": SMTP_PASSWORD},
    )
    rule = make_rule(hook, slack, mail)
    observation = lifecycle.Observation(fingerprint="payments/charge", service="payments", subject="charge", value=0.9)
    alert = lifecycle.fire(rule, observation)
    assert alert is not None
    for delivery in Delivery.objects.all():
        send(delivery.id)
    dead = Delivery.objects.get(channel=slack)
    assert dead.state == "dead" and "refused '********'" in dead.last_error
    assert Delivery.objects.get(channel=hook).state == "sent"
    return {"channel": slack.id, "alert": alert.id, "delivery": dead.id, "rule": rule.id, "hook": hook.id}


def filled(path: str, ids: dict[str, int]) -> str:
    """An API path ({alert_id}) or a route (<int:alert_id>) with the ids of the world above."""
    pattern = r"\{(\w+?)(?:_id)?\}|<int:(\w+?)(?:_id)?>"
    return re.sub(pattern, lambda m: str(ids.get(m.group(1) or m.group(2), 1)), path)


def api_paths() -> list[str]:
    paths = api.get_openapi_schema()["paths"]
    return [path for path, operations in paths.items() if "get" in operations]


def page_routes(patterns: list | None = None, prefix: str = "") -> Iterator[str]:
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if route.startswith(("admin/", "api/", "login/", "logout/")) or "(?P" in route:
            continue
        if isinstance(pattern, URLResolver):
            yield from page_routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield "/" + route


def leaked(body: bytes) -> list[str]:
    text = body.decode(errors="replace")
    return [secret for secret in SECRETS if secret in text]


def assert_no_secret(people: People, paths: list[str], ids: dict[str, int]) -> int:
    checked = 0
    for role in ("viewer", "responder", "admin"):
        person = getattr(people, role)
        for channel_key in ("channel", "hook"):
            for path in paths:
                url = filled(path, {**ids, "channel": ids[channel_key]})
                response = person.client.get(url)
                assert not leaked(response.content), (role, url, leaked(response.content))
                checked += response.status_code == 200
    return checked


def test_no_api_answer_holds_a_secret(people: People, world: dict[str, int]) -> None:
    paths = api_paths()
    assert "/api/v1/channels/{channel_id}" in paths and "/api/v1/deliveries" in paths
    assert assert_no_secret(people, paths, world) >= len(paths)


def test_no_page_or_fragment_holds_a_secret(people: People, world: dict[str, int]) -> None:
    routes = list(page_routes())
    assert "/channels/<int:channel_id>/" in routes and "/alerts/<int:alert_id>/" in routes
    assert assert_no_secret(people, routes, world) > 10


def test_only_an_admins_reveal_shows_one(people: People, world: dict[str, int]) -> None:
    url = f"/api/v1/channels/{world['hook']}/reveal"
    assert people.viewer.post(url, {"key": "secret"}).status_code == 403
    assert people.responder.post(url, {"key": "secret"}).status_code == 403
    assert people.admin.post(url, {"key": "secret"}).json()["value"] == WEBHOOK_SECRET
