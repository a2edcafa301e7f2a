"""/api/v1/status-pages...: admins only (anonymous 401, viewers and responders 403), each write
refused with a 422 naming the field, and every change in the page's audit history."""

from __future__ import annotations

import pytest
from django.test import Client

from alerts.models import StatusComponent, StatusIncident, StatusPage
from monitoring.models import AuditEntry, Function, Service
from tests.alert_fixtures import People, make_alert, make_rule

PAGE = {"slug": "acme", "title": "Acme status"}


@pytest.fixture
def services(db: None) -> Service:
    service = Service.objects.create(name="payments")
    Function.objects.create(service=service, name="charge")
    return service


@pytest.fixture
def page(services: Service) -> StatusPage:
    return StatusPage.objects.create(slug="shop", title="Shop status")


def every_call(page: StatusPage) -> list[tuple[str, str, dict | None]]:
    base = f"/api/v1/status-pages/{page.id}"
    return [
        ("get", "/api/v1/status-pages", None),
        ("post", "/api/v1/status-pages", PAGE),
        ("get", base, None),
        ("patch", base, {"title": "x"}),
        ("post", f"{base}/components", {"service": "payments", "public_name": "Payments"}),
        ("get", f"{base}/incidents", None),
        ("post", f"{base}/incidents", {"title": "Down"}),
        ("delete", base, None),
    ]


def send(client: Client, method: str, path: str, body: dict | None) -> int:
    if method in ("get", "delete"):
        return getattr(client, method)(path).status_code
    return getattr(client, method)(path, body, content_type="application/json").status_code


def test_anonymous_callers_get_401(page: StatusPage) -> None:
    for method, path, body in every_call(page):
        assert send(Client(), method, path, body) == 401, (method, path)
    assert StatusPage.objects.get().title == "Shop status"


@pytest.mark.parametrize("who", ["viewer", "responder"])
def test_viewers_and_responders_get_403(people: People, page: StatusPage, who: str) -> None:
    person = getattr(people, who)
    for method, path, body in every_call(page):
        response = getattr(person, method)(path) if method in ("get", "delete") else getattr(person, method)(path, body)
        assert response.status_code == 403 and "admin" in response.json()["detail"], (method, path)
    assert StatusPage.objects.get().title == "Shop status" and not StatusComponent.objects.exists()
    assert not AuditEntry.objects.exists()


def test_an_admin_builds_a_page_and_each_change_is_audited(people: People, services: Service) -> None:
    admin = people.admin
    created = admin.post("/api/v1/status-pages", PAGE | {"description": "Our shop"})
    assert created.status_code == 201, created.content
    page_id = created.json()["id"]
    assert created.json()["url"] == "/status/acme/" and created.json()["enabled"] is True
    base = f"/api/v1/status-pages/{page_id}"
    whole = admin.post(f"{base}/components", {"service": "payments", "public_name": "Payments", "position": 1})
    one = admin.post(f"{base}/components", {"service": "payments", "function": "charge", "public_name": "Checkout"})
    assert whole.status_code == 201 and one.status_code == 201
    assert one.json() == {
        "id": one.json()["id"],
        "service": "payments",
        "function": "charge",
        "public_name": "Checkout",
        "position": 0,
    }
    moved = admin.patch(f"{base}/components/{one.json()['id']}", {"position": 5, "public_name": "Card checkout"})
    assert moved.json()["position"] == 5
    listed = admin.get(base).json()["components"]
    assert [c["public_name"] for c in listed] == ["Payments", "Card checkout"]
    assert admin.patch(base, {"show_figures": True}).json()["show_figures"] is True
    assert admin.delete(f"{base}/components/{whole.json()['id']}").status_code == 204
    actions = list(AuditEntry.objects.filter(kind="statuspage", object_id=str(page_id)).order_by("id"))
    assert [e.action for e in actions] == [
        "created",
        "added component",
        "added component",
        "changed component",
        "updated",
        "removed component",
    ]
    assert (actions[3].before["public_name"], actions[3].before["position"]) == ("Checkout", 0)
    assert actions[3].after["function"] == "charge" and actions[3].after["service"] == "payments"
    assert actions[3].after["public_name"] == "Card checkout" and actions[-1].before["public_name"] == "Payments"
    assert all(e.actor_name == "alice" for e in actions)
    assert admin.delete(base).status_code == 204
    assert not StatusPage.objects.exists() and AuditEntry.objects.filter(action="deleted", kind="statuspage").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"slug": "Not A Slug", "title": "x"}, "slug"),
        ({"slug": "-acme", "title": "x"}, "slug"),
        ({"slug": "shop", "title": "x"}, "slug"),  # taken
        ({"slug": "acme", "title": "  "}, "title"),
        ({"slug": "acme", "title": "x", "colour": "red"}, "colour"),
    ],
)
def test_a_bad_page_is_refused_naming_the_field(people: People, page: StatusPage, body: dict, field: str) -> None:
    response = people.admin.post("/api/v1/status-pages", body)
    assert response.status_code == 422 and response.json()["field"] == field, response.content
    assert StatusPage.objects.count() == 1


def test_renaming_to_a_taken_slug_is_refused(people: People, page: StatusPage) -> None:
    other = StatusPage.objects.create(slug="other", title="Other")
    response = people.admin.patch(f"/api/v1/status-pages/{other.id}", {"slug": "shop"})
    assert response.status_code == 422 and response.json()["field"] == "slug"
    assert StatusPage.objects.get(id=other.id).slug == "other"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"service": "nope", "public_name": "X"}, "service"),
        ({"service": "payments", "function": "nope", "public_name": "X"}, "function"),
        ({"service": "payments", "public_name": ""}, "public_name"),
        ({"service": "payments", "public_name": "X", "position": "1"}, "position"),
    ],
)
def test_a_bad_component_is_refused_naming_the_field(people: People, page: StatusPage, body: dict, field: str) -> None:
    response = people.admin.post(f"/api/v1/status-pages/{page.id}/components", body)
    assert response.status_code == 422 and response.json()["field"] == field, response.content
    assert not StatusComponent.objects.exists()


def test_a_component_shown_twice_is_refused(people: People, page: StatusPage) -> None:
    body = {"service": "payments", "public_name": "Payments"}
    assert people.admin.post(f"/api/v1/status-pages/{page.id}/components", body).status_code == 201
    again = people.admin.post(f"/api/v1/status-pages/{page.id}/components", body | {"public_name": "Again"})
    assert again.status_code == 422 and again.json()["field"] == "service"


def test_publishing_an_alert_with_updates_until_resolved(people: People, page: StatusPage, no_defaults: None) -> None:
    admin, base = people.admin, f"/api/v1/status-pages/{page.id}"
    alert = make_alert(make_rule())
    elsewhere = make_alert(make_rule(name="other"), service="search", subject="query", fingerprint="function:2")
    refused = admin.post(f"{base}/incidents", {"alert": alert.id, "title": "Card payments failing"})
    assert refused.status_code == 422 and refused.json()["field"] == "alert"  # not on the page yet
    admin.post(f"{base}/components", {"service": "payments", "public_name": "Payments"})
    other = admin.post(f"{base}/incidents", {"alert": elsewhere.id, "title": "Search down"})
    assert other.status_code == 422 and other.json()["field"] == "alert"
    published = admin.post(
        f"{base}/incidents", {"alert": alert.id, "title": "Card payments failing", "message": "Looking into it."}
    )
    assert published.status_code == 201, published.content
    incident = published.json()
    assert incident["alert"] == alert.id and incident["state"] == "investigating"
    assert [u["body"] for u in incident["updates"]] == ["Looking into it."]
    one = f"{base}/incidents/{incident['id']}"
    update = admin.post(f"{one}/updates", {"state": "identified", "body": "A bad deploy."})
    assert update.status_code == 201 and update.json()["author"] == "alice"
    assert admin.get(one).json()["state"] == "identified"
    bad = admin.post(f"{one}/updates", {"state": "done", "body": "x"})
    assert bad.status_code == 422 and bad.json()["field"] == "state"
    resolved = admin.post(f"{one}/updates", {"state": "resolved", "body": "Fixed."})
    assert resolved.status_code == 201
    got = admin.get(one).json()
    assert got["state"] == "resolved" and got["resolved_at"] is not None
    assert [u["state"] for u in got["updates"]] == ["resolved", "identified", "investigating"]
    assert admin.patch(one, {"title": "Card payments failed"}).json()["title"] == "Card payments failed"
    listed = admin.get(f"{base}/incidents").json()
    assert listed["count"] == 1 and listed["items"][0]["title"] == "Card payments failed"
    actions = list(
        AuditEntry.objects.filter(kind="statuspage", object_id=str(page.id)).values_list("action", flat=True)
    )
    assert sorted(actions) == sorted(
        ["added component", "published incident", "posted update", "posted update", "posted update", "changed incident"]
    )
    assert admin.delete(one).status_code == 204 and not StatusIncident.objects.exists()
    assert AuditEntry.objects.filter(action="deleted incident").count() == 1


def test_the_endpoints_are_in_the_openapi_document(people: People) -> None:
    paths = people.admin.get("/api/openapi.json").json()["paths"]
    for path in (
        "/api/v1/status-pages",
        "/api/v1/status-pages/{page_id}",
        "/api/v1/status-pages/{page_id}/components",
        "/api/v1/status-pages/{page_id}/components/{component_id}",
        "/api/v1/status-pages/{page_id}/incidents",
        "/api/v1/status-pages/{page_id}/incidents/{incident_id}",
        "/api/v1/status-pages/{page_id}/incidents/{incident_id}/updates",
    ):
        assert path in paths, path
