"""A NUL character in every string an operation takes, found in the API's own OpenAPI document:
no answer is a server error (PostgreSQL cannot store NUL; it failed as a 500)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import quote

import orjson
import pytest
from django.contrib.auth.models import User
from django.test import Client

from alerts.models import Delivery, EscalationPolicy, Silence
from monitoring.models import Function, IngestToken, Project, Service, Team, UserToken
from queues.models import Queue
from tests.alert_fixtures import make_alert, make_rule
from tests.conftest import Reporter, call, now_iso
from tests.slo_fixtures import make_slo
from tests.status_seed import status_page_rows

NUL = "\x00"


@pytest.fixture
def ids(reporter: Reporter, admin_user: User) -> dict[str, int]:
    """A row for every {x_id} of a path, so that requests reach the operations' code."""
    reporter.post({"calls": [call()], "queues": [{"queue": "mail", "ts": now_iso(), "depth": 1}]})
    rule = make_rule()
    alert = make_alert(rule)
    channel = rule.channels.create(name="log", kind="log", config={})
    spare_token = UserToken.issue(user=admin_user, name="spare")[0]
    return {
        "function_id": Function.objects.get().id,
        "queue_id": Queue.objects.get().id,
        "rule_id": rule.id,
        "alert_id": alert.id,
        "incident_id": alert.incident_id,
        "channel_id": channel.id,
        "silence_id": Silence.objects.create(service="payments", ends_at=datetime(2999, 1, 1, tzinfo=UTC)).id,
        "delivery_id": Delivery.objects.create(alert=alert, channel=channel, event="firing", state="dead").id,
        "user_id": admin_user.id,
        "service_id": Service.objects.get().id,
        "token_id": IngestToken.objects.get().id,
        "user_token_id": spare_token.id,
        **status_page_rows(),
        "slo_id": make_slo(Function.objects.get()).id,
        "slug": Project.objects.default().slug,
        "username": admin_user.username,
        "team_id": Team.objects.create(name="on-call").id,
        "policy_id": EscalationPolicy.objects.create(name="on-call").id,
    }


class Document:
    """The OpenAPI document, and valid values made from its schemas."""

    def __init__(self, document: dict) -> None:
        self.document = document

    def operations(self) -> Iterator[tuple[str, str, dict]]:
        for path, methods in self.document["paths"].items():
            for method, operation in methods.items():
                yield method, path, operation

    def resolve(self, node: dict) -> dict:
        while "$ref" in node:
            node = self.document["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
        return node

    def sample(self, node: dict) -> object:
        """A valid value: the schema's example if it has one, else one made from its type."""
        node = self.resolve(node)
        if "examples" in node:
            return node["examples"][0]
        if "anyOf" in node:
            return self.sample(next(n for n in node["anyOf"] if n.get("type") != "null"))
        if "enum" in node:
            return node["enum"][0]
        kind = node.get("type")
        if kind == "object":
            return {name: self.sample(child) for name, child in node.get("properties", {}).items()}
        if kind == "array":
            item = self.resolve(node["items"])
            return [self.sample(item)] if item.get("type") == "object" else []
        if kind == "string":
            return now_iso() if node.get("format") == "date-time" else "x" * node.get("minLength", 1)
        if kind in ("integer", "number"):
            return node.get("minimum", 1)
        return True if kind == "boolean" else None


def with_nul_at_each_string(value: object) -> Iterator[object]:
    """The value again and again, each time with a NUL in a different one of its strings."""
    if isinstance(value, str):
        yield value + NUL
    elif isinstance(value, dict):
        for key, item in value.items():
            for changed in with_nul_at_each_string(item):
                yield {**value, key: changed}
    elif isinstance(value, list):
        for i, item in enumerate(value):
            for changed in with_nul_at_each_string(item):
                yield [*value[:i], changed, *value[i + 1 :]]


def requests_with_nul(doc: Document, path: str, operation: dict, ids: dict[str, int]) -> Iterator[tuple]:
    """(path, query, body) with a NUL in one parameter or one string of the body each."""
    params = operation.get("parameters", [])
    filled = path.format(**ids)
    for param in params:
        if param["in"] == "path":
            yield path.format(**{**ids, param["name"]: quote(NUL)}), {}, None
        else:  # a query parameter, text or not: a NUL is no number either
            yield filled, {param["name"]: NUL}, None
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body:
        for changed in with_nul_at_each_string(doc.sample(body["schema"])):
            yield filled, {}, changed


def test_no_operation_fails_on_a_nul_in_any_string(client: Client, token: str, ids: dict, admin_user: User) -> None:
    doc = Document(client.get("/api/openapi.json").json())
    personal = UserToken.issue(user=admin_user)[1]
    tried = []
    for method, path, operation in doc.operations():
        bearer = token if path.startswith("/api/v1/ingest") else personal
        for url, query, body in requests_with_nul(doc, path, operation, ids):
            sent = {"data": orjson.dumps(body), "content_type": "application/json"} if body is not None else {}
            if query:
                url += "?" + "&".join(f"{name}={quote(value)}" for name, value in query.items())
            response = getattr(client, method)(url, headers={"Authorization": f"Bearer {bearer}"}, **sent)
            assert response.status_code < 500, (method, url, body, response.content)
            tried.append((method, path))
    operations = {(method, path) for method, path, _ in doc.operations()}
    # Every operation with a string to spoil was tried (all but those that take no parameters).
    assert operations - set(tried) == {
        ("get", "/api/v1/status"),
        ("get", "/api/v1/services"),
        ("get", "/api/v1/rules/templates"),
        ("get", "/api/v1/projects"),
        ("get", "/api/v1/teams"),
    }
    assert len(tried) >= 100  # some 40 operations, most with several strings
