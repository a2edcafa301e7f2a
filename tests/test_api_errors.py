"""Every error of the API, whatever the router or the status, answers one shape:
{"detail": "<field path>: message", "field": "<field path>"}, field "" when no field is to blame."""

from __future__ import annotations

import orjson
import pytest
from django.core.cache import cache
from django.http import HttpResponse
from django.test import Client
from pytest_django import Settings

from alerts.models import Channel, Rule
from tests.alert_fixtures import People, make_alert, make_rule
from tests.conftest import Reporter, call


def assert_error(response: HttpResponse, status: int, field: str = "") -> str:
    """The answer is an error of this status naming this field; returns its message."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail", "field"} and body["field"] == field
    if field:
        assert body["detail"].startswith(f"{field}: ")
    return body["detail"].removeprefix(f"{field}: ")


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/api/v1/functions", {"sort": "mood"}, "sort"),
        ("/api/v1/functions", {"max_age": 99}, "max_age"),
        ("/api/v1/functions/abc", {}, "function_id"),
        ("/api/v1/functions/1/series", {"minutes": 0}, "minutes"),
        ("/api/v1/queues", {"limit": 0}, "limit"),
        ("/api/v1/queues/1/series", {"minutes": "soon"}, "minutes"),
        ("/api/v1/overview", {"newer_than": "yesterday"}, "newer_than"),
        ("/api/v1/alerts", {"state": "sleepy"}, "state"),
        ("/api/v1/silences", {"active": "maybe"}, "active"),
        ("/api/v1/rules/abc", {}, "rule_id"),
    ],
)
def test_it_names_the_bad_parameter_on_every_router(people: People, path: str, query: dict, field: str) -> None:
    assert_error(people.viewer.get(path, **query), 422, field)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "metric": "error_rate", "threshold": "high"}, "threshold"),
        ({"name": "x", "metric": "error_rate", "threshold": 1, "channels": [1, "two"]}, "channels[1]"),
        ({"metric": "error_rate", "threshold": 1}, "name"),
    ],
)
def test_it_names_the_bad_field_of_a_body(people: People, no_defaults: None, body: dict, field: str) -> None:
    assert_error(people.admin.post("/api/v1/rules", body), 422, field)
    assert not Rule.objects.exists()


def test_it_names_a_nested_field_of_a_channel_config(people: People, no_defaults: None) -> None:
    body = {"name": "mail", "kind": "email", "config": {"to": ["a@example.org", "nope"]}}
    assert_error(people.admin.post("/api/v1/channels", body), 422, "config.to[1]")
    assert not Channel.objects.exists()


def test_a_missing_or_bad_token_is_401_on_reads_and_on_ingest(client: Client, db: None) -> None:
    assert_error(client.get("/api/v1/functions"), 401)
    assert_error(client.get("/api/v1/alerts", headers={"Authorization": "Bearer rmu_nope"}), 401)
    assert_error(client.post("/api/v1/ingest", b"{}", content_type="application/json"), 401)


def test_a_role_too_low_is_403(people: People, no_defaults: None) -> None:
    body = {"name": "x", "metric": "error_rate", "threshold": 1}
    assert "admin" in assert_error(people.viewer.post("/api/v1/rules", body), 403)
    assert not Rule.objects.exists()


def test_an_unknown_id_or_path_is_404(people: People) -> None:
    assert_error(people.viewer.get("/api/v1/rules/999999"), 404)
    assert_error(people.viewer.get("/api/v1/no-such-thing"), 404)


def test_a_method_an_operation_does_not_take_is_405(people: People) -> None:
    r = people.admin.client.put("/api/v1/status")
    assert_error(r, 405)
    assert r["Allow"] == "GET"


def test_an_action_that_does_not_apply_is_409(people: People, log_channel: Channel) -> None:
    alert = make_alert(make_rule(log_channel), state="resolved")
    assert "resolved" in assert_error(people.responder.post(f"/api/v1/alerts/{alert.id}/resolve"), 409)


def test_a_body_that_is_not_json_is_400(people: People, no_defaults: None) -> None:
    assert_error(people.admin.client.post("/api/v1/rules", b"{nope", content_type="application/json"), 400)
    assert not Rule.objects.exists()


def test_a_body_over_the_limit_is_413_and_stores_nothing(people: People, no_defaults: None, settings: Settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    body = {"name": "x" * 3000, "metric": "error_rate", "threshold": 1}
    r = people.admin.client.post("/api/v1/rules", orjson.dumps(body), content_type="application/json")
    assert "2000" in assert_error(r, 413)
    assert not Rule.objects.exists()


def test_a_token_over_its_rate_is_429(reporter: Reporter, settings: Settings) -> None:
    settings.MONITOR_MAX_REQUESTS_PER_MINUTE = 1
    cache.clear()
    assert reporter.post({"calls": [call()]}).status_code == 202
    r = reporter.post({"calls": [call()]})
    assert_error(r, 429)
    assert int(r["Retry-After"]) >= 1
