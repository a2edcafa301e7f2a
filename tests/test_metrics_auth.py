"""Who may scrape /metrics: a metrics:read token, or anybody from an allowed network; and a
metrics:read token opens nothing else. Such tokens are made on the API, the page and the command."""

from __future__ import annotations

import ipaddress
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from pytest_django import Settings

from monitoring.models import AuditEntry, UserToken
from tests.alert_fixtures import People


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def metrics_token(people: People) -> str:
    return UserToken.issue(user=people.viewer.user, scope="metrics:read")[1]


def test_without_a_token_the_answer_is_401_saying_what_to_send(db: None) -> None:
    answer = Client().get("/metrics")
    assert answer.status_code == 401
    assert "metrics:read" in answer.json()["detail"]
    assert answer["WWW-Authenticate"] == "Bearer"


def test_a_wrong_or_revoked_token_is_401(people: People) -> None:
    raw = metrics_token(people)
    UserToken.objects.get().revoke()
    assert Client().get("/metrics", headers=bearer(raw)).status_code == 401
    assert Client().get("/metrics", headers=bearer("rmu_nothing")).status_code == 401


@pytest.mark.parametrize("role", ["viewer", "responder", "admin"])
def test_an_api_token_of_any_role_is_403_on_metrics(people: People, role: str) -> None:
    raw = people.token_for(getattr(people, role))
    answer = Client().get("/metrics", headers=bearer(raw))
    assert answer.status_code == 403
    assert "metrics:read" in answer.json()["detail"]


def test_a_metrics_token_reads_metrics_and_nothing_else(people: People) -> None:
    raw = metrics_token(people)
    scraper = Client(headers=bearer(raw))
    assert scraper.get("/metrics").status_code == 200
    for path in ("/api/v1/functions", "/api/v1/me/tokens", "/api/v1/alerts"):
        refused = scraper.get(path)
        assert refused.status_code == 403, path
        assert "metrics:read" in refused.json()["detail"]
    assert scraper.post("/api/v1/me/tokens", {"name": "x"}, content_type="application/json").status_code == 403
    assert UserToken.objects.count() == 1
    assert scraper.get("/").status_code == 302  # pages want a login, as for anybody


def test_a_deactivated_persons_metrics_token_stops(people: People) -> None:
    raw = metrics_token(people)
    people.viewer.user.is_active = False
    people.viewer.user.save()
    assert Client().get("/metrics", headers=bearer(raw)).status_code == 401


def test_an_allowed_network_scrapes_without_a_token(db: None, settings: Settings) -> None:
    settings.MONITOR_METRICS_ALLOW_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"),)
    answer = Client().get("/metrics")  # the test client comes from 127.0.0.1
    assert answer.status_code == 200
    assert b"# TYPE resilience_calls_total counter" in answer.content


def test_another_network_is_403_without_a_token_and_200_with_one(people: People, settings: Settings) -> None:
    settings.MONITOR_METRICS_ALLOW_NETWORKS = (ipaddress.ip_network("10.0.0.0/8"),)
    answer = Client(REMOTE_ADDR="192.0.2.7").get("/metrics")
    assert answer.status_code == 403
    assert "MONITOR_METRICS_ALLOW_NETWORKS" in answer.json()["detail"]
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="192.0.2.7").get("/metrics", headers=bearer(metrics_token(people))).status_code == 200


def test_the_address_a_proxy_names_is_the_one_checked(db: None, settings: Settings) -> None:
    settings.MONITOR_METRICS_ALLOW_NETWORKS = (ipaddress.ip_network("10.0.0.0/8"),)
    settings.MONITOR_CLIENT_ADDRESS_HEADER = "X-Forwarded-For"
    proxied = Client(REMOTE_ADDR="127.0.0.1")
    assert proxied.get("/metrics", headers={"X-Forwarded-For": "10.0.0.9"}).status_code == 200
    assert proxied.get("/metrics", headers={"X-Forwarded-For": "10.0.0.9, 192.0.2.1"}).status_code == 403


@pytest.mark.parametrize("role", ["viewer", "responder", "admin"])
def test_everybody_creates_a_metrics_token_on_the_api(people: People, role: str) -> None:
    person = getattr(people, role)
    created = person.post("/api/v1/me/tokens", {"name": "prometheus", "scope": "metrics:read"})
    assert created.status_code == 201, created.content
    assert created.json()["scope"] == "metrics:read"
    assert person.get("/api/v1/me/tokens").json()["items"][0]["scope"] == "metrics:read"
    assert Client().get("/metrics", headers=bearer(created.json()["token"])).status_code == 200
    entry = AuditEntry.objects.get(kind="usertoken")
    assert entry.after["scope"] == "metrics:read"


def test_an_unknown_scope_is_422_naming_the_field(people: People) -> None:
    refused = people.viewer.post("/api/v1/me/tokens", {"name": "x", "scope": "admin"})
    assert refused.status_code == 422
    assert refused.json()["field"] == "scope"
    assert not UserToken.objects.exists()


def test_an_api_token_is_the_default(people: People) -> None:
    created = people.viewer.post("/api/v1/me/tokens", {"name": "script"})
    assert created.json()["scope"] == "api"


def test_the_tokens_page_creates_a_metrics_token(people: People) -> None:
    page = people.viewer.client.get("/settings/tokens/")
    assert b'value="metrics:read"' in page.content
    answer = people.viewer.client.post(
        "/settings/tokens/", {"name": "prometheus", "scope": "metrics:read"}, follow=True
    )
    assert answer.status_code == 200
    token = UserToken.objects.get()
    assert token.scope == "metrics:read"
    shown = answer.content.decode()
    assert "/metrics</code> only" in shown and "/metrics</code></p>" in shown


def test_the_tokens_page_refuses_an_unknown_scope(people: People) -> None:
    answer = people.viewer.client.post("/settings/tokens/", {"name": "prometheus", "scope": "everything"})
    assert answer.status_code == 422
    assert b'id="scope-error"' in answer.content and b'aria-invalid="true"' in answer.content
    assert not UserToken.objects.exists()


def test_the_command_prints_a_metrics_token(people: People) -> None:
    out = StringIO()
    call_command("create_user_token", "carol", "--name", "prometheus", "--scope", "metrics:read", stdout=out)
    raw = out.getvalue().strip()
    assert Client().get("/metrics", headers=bearer(raw)).status_code == 200
    assert Client().get("/api/v1/functions", headers=bearer(raw)).status_code == 403
