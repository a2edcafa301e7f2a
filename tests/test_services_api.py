"""The services API: who may do what, and what each answer holds (a raw token only in the
answers to create and rotate)."""

from __future__ import annotations

import orjson
import pytest
from django.test import Client

from monitoring.models import AuditEntry, IngestToken, Service
from tests.alert_fixtures import People, Person
from tests.conftest import Reporter, call

WRITES = [
    ("post", "/api/v1/services", {"name": "checkout"}),
    ("patch", "/api/v1/services/{service}", {"name": "billing"}),
    ("delete", "/api/v1/services/{service}", None),
    ("post", "/api/v1/services/{service}/tokens", None),
    ("post", "/api/v1/services/{service}/tokens/{token}/rotate", {"grace_minutes": 60}),
    ("post", "/api/v1/services/{service}/tokens/{token}/revoke", None),
]
ADMIN_READS = ["/api/v1/services/{service}"]


def send(person: Person | Client, method: str, path: str, body: dict | None) -> object:
    client = person.client if isinstance(person, Person) else person
    if method in ("get", "delete"):
        return getattr(client, method)(path)
    return getattr(client, method)(path, orjson.dumps(body or {}), content_type="application/json")


@pytest.fixture
def payments(db: None) -> tuple[Service, IngestToken]:
    service = Service.objects.create(name="payments")
    token, _ = IngestToken.issue(service=service)
    return service, token


def filled(path: str, payments: tuple[Service, IngestToken]) -> str:
    service, token = payments
    return path.format(service=service.id, token=token.id)


@pytest.mark.parametrize(("method", "path", "body"), [*WRITES, *[("get", p, None) for p in ADMIN_READS]])
def test_it_refuses_anonymous_callers(
    client: Client, payments: tuple[Service, IngestToken], method: str, path: str, body: dict | None
) -> None:
    response = send(client, method, filled(path, payments), body)
    assert response.status_code == 401
    assert Service.objects.get().name == "payments" and IngestToken.objects.get().state == "active"


@pytest.mark.parametrize("role", ["viewer", "responder"])
@pytest.mark.parametrize(("method", "path", "body"), [*WRITES, *[("get", p, None) for p in ADMIN_READS]])
def test_it_refuses_viewers_and_responders(
    people: People, payments: tuple[Service, IngestToken], role: str, method: str, path: str, body: dict | None
) -> None:
    response = send(getattr(people, role), method, filled(path, payments), body)
    assert response.status_code == 403
    assert response.json()["detail"] == "this needs the admin role"
    assert Service.objects.get().name == "payments" and IngestToken.objects.count() == 1
    assert IngestToken.objects.get().state == "active"
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("role", ["viewer", "responder", "admin"])
def test_every_user_lists_services_without_tokens(
    people: People, payments: tuple[Service, IngestToken], role: str
) -> None:
    [listed] = getattr(people, role).get("/api/v1/services").json()
    assert listed["name"] == "payments" and listed["active_tokens"] == 1 and listed["functions"] == 0
    assert "tokens" not in listed


def test_anonymous_cannot_list_services(client: Client, db: None) -> None:
    assert client.get("/api/v1/services").status_code == 401


def test_an_admin_creates_a_service_and_a_token_that_works(people: People, client: Client) -> None:
    created = people.admin.post("/api/v1/services", {"name": "  checkout  "})
    assert created.status_code == 201, created.content
    service = created.json()
    assert service["name"] == "checkout" and service["tokens"] == [] and service["active_tokens"] == 0

    issued = people.admin.post(f"/api/v1/services/{service['id']}/tokens")
    assert issued.status_code == 201
    raw = issued.json()["token"]
    assert raw.startswith("rmi_") and issued.json()["prefix"] == raw[:12] and issued.json()["state"] == "active"
    assert Reporter(client, raw).post({"calls": [call()]}).status_code == 202

    # Read back: by prefix, never the raw token.
    detail = people.admin.get(f"/api/v1/services/{service['id']}")
    assert detail.status_code == 200
    assert raw not in detail.content.decode()
    [token] = detail.json()["tokens"]
    assert token["prefix"] == raw[:12] and token["last_used"] is not None
    assert detail.json()["functions"] == 1 and detail.json()["last_report"] is not None
    assert raw not in people.admin.get("/api/v1/services").content.decode()


def test_an_admin_with_a_personal_token_needs_no_session(people: People, client: Client) -> None:
    bearer = {"Authorization": f"Bearer {people.token_for(people.admin)}"}
    created = client.post("/api/v1/services", {"name": "checkout"}, content_type="application/json", headers=bearer)
    assert created.status_code == 201
    issued = client.post(f"/api/v1/services/{created.json()['id']}/tokens", headers=bearer)
    assert issued.status_code == 201 and issued.json()["token"].startswith("rmi_")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "name: String should have at least 1 character"),
        ("   ", "name: must not be blank"),
        ("bad\x01name", "name: must be printable: no control characters"),
        ("x" * 101, "name: String should have at most 100 characters"),
        ("payments", "name: a service named 'payments' exists already"),
    ],
)
def test_it_names_a_bad_service_name(
    people: People, payments: tuple[Service, IngestToken], name: str, message: str
) -> None:
    response = people.admin.post("/api/v1/services", {"name": name})
    assert response.status_code == 422
    assert response.json() == {"detail": message, "field": "name"}
    assert Service.objects.count() == 1


def test_it_refuses_unknown_fields(people: People, db: None) -> None:
    response = people.admin.post("/api/v1/services", {"name": "checkout", "token": "mine"})
    assert response.status_code == 422 and response.json()["field"] == "token"


def test_an_admin_renames_and_deletes_a_service(
    people: People, payments: tuple[Service, IngestToken], client: Client
) -> None:
    service, _ = payments
    renamed = people.admin.patch(f"/api/v1/services/{service.id}", {"name": "billing"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "billing"
    Service.objects.create(name="checkout")
    clash = people.admin.patch(f"/api/v1/services/{service.id}", {"name": "checkout"})
    assert clash.status_code == 422 and clash.json()["field"] == "name"

    assert people.admin.delete(f"/api/v1/services/{service.id}").status_code == 204
    assert not Service.objects.filter(id=service.id).exists() and not IngestToken.objects.exists()
    assert people.admin.get(f"/api/v1/services/{service.id}").status_code == 404
    actions = list(AuditEntry.objects.filter(kind="service").values_list("action", flat=True))
    assert actions == ["deleted", "renamed"]


def test_rotate_answers_both_tokens_and_both_work(
    people: People, payments: tuple[Service, IngestToken], client: Client
) -> None:
    service, old = payments
    old_raw = IngestToken.issue(service=service)[1]  # a token whose raw value this test knows
    old = IngestToken.objects.get(prefix=old_raw[:12])
    rotated = people.admin.post(f"/api/v1/services/{service.id}/tokens/{old.id}/rotate", {"grace_minutes": 90})
    assert rotated.status_code == 201, rotated.content
    body = rotated.json()
    assert body["replaced"]["prefix"] == old.prefix and body["replaced"]["state"] == "expiring"
    assert body["replaced"]["expires"] is not None and "token" not in body["replaced"]
    new_raw = body["token"]["token"]
    assert Reporter(client, old_raw).post({"calls": [call()]}).status_code == 202
    assert Reporter(client, new_raw).post({"calls": [call()]}).status_code == 202

    again = people.admin.post(f"/api/v1/services/{service.id}/tokens/{old.id}/rotate", {"grace_minutes": 90})
    assert again.status_code == 422
    assert again.json()["detail"] == "token: is expiring: only an active token can be rotated"


@pytest.mark.parametrize(
    ("grace", "field_message"),
    [(-1, "greater than or equal to 0"), (43201, "less than or equal to 43200"), ("60", "must be a number")],
)
def test_it_names_a_bad_grace_period(
    people: People, payments: tuple[Service, IngestToken], grace: object, field_message: str
) -> None:
    service, token = payments
    response = people.admin.post(f"/api/v1/services/{service.id}/tokens/{token.id}/rotate", {"grace_minutes": grace})
    assert response.status_code == 422 and response.json()["field"] == "grace_minutes"
    assert field_message in response.json()["detail"]
    assert IngestToken.objects.count() == 1


def test_revoke_stops_a_token_and_twice_changes_nothing(people: People, client: Client, db: None) -> None:
    service = Service.objects.create(name="payments")
    token, raw = IngestToken.issue(service=service)
    path = f"/api/v1/services/{service.id}/tokens/{token.id}/revoke"
    first = people.admin.post(path)
    assert first.status_code == 200 and first.json()["state"] == "revoked" and "token" not in first.json()
    assert Reporter(client, raw).post({"calls": [call()]}).status_code == 401
    second = people.admin.post(path)
    assert second.status_code == 200 and second.json()["revoked"] == first.json()["revoked"]
    assert AuditEntry.objects.filter(action="revoked").count() == 1


def test_a_token_of_another_service_is_not_found(people: People, payments: tuple[Service, IngestToken]) -> None:
    _, token = payments
    other = Service.objects.create(name="checkout")
    assert people.admin.post(f"/api/v1/services/{other.id}/tokens/{token.id}/revoke").status_code == 404
    assert IngestToken.objects.get().state == "active"


def test_the_endpoints_are_in_the_openapi_document(client: Client, db: None) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    assert set(paths["/api/v1/services"]) == {"get", "post"}
    assert set(paths["/api/v1/services/{service_id}"]) == {"get", "patch", "delete"}
    assert "post" in paths["/api/v1/services/{service_id}/tokens"]
    assert "post" in paths["/api/v1/services/{service_id}/tokens/{token_id}/rotate"]
    assert "post" in paths["/api/v1/services/{service_id}/tokens/{token_id}/revoke"]
