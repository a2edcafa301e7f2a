"""The status pages' admin pages: admins only (viewers and responders get the 403 page), the
list's empty state, creating a page, its components and incidents through the forms, refusals
with the field named, deleting with its history kept in the audit trail."""

from __future__ import annotations

import pytest
from django.test import Client

from alerts.models import StatusComponent, StatusIncident, StatusPage
from monitoring.models import AuditEntry, Function, Service
from tests.alert_fixtures import People, make_alert, make_rule


@pytest.fixture
def admin(people: People) -> Client:
    client = Client()
    client.force_login(people.admin.user)
    return client


@pytest.fixture
def page(db: None) -> StatusPage:
    service = Service.objects.create(name="payments")
    Function.objects.create(service=service, name="charge")
    return StatusPage.objects.create(slug="shop", title="Shop status")


@pytest.mark.parametrize("who", ["viewer", "responder"])
def test_viewers_and_responders_get_the_403_page(people: People, page: StatusPage, who: str) -> None:
    client = Client()
    client.force_login(getattr(people, who).user)
    for url in ("/status-pages/", "/status-pages/new/", f"/status-pages/{page.id}/"):
        response = client.get(url)
        assert response.status_code == 403 and b"admin" in response.content
    refused = client.post(f"/status-pages/{page.id}/components/", {"service": "payments", "public_name": "P"})
    assert refused.status_code == 403 and not StatusComponent.objects.exists()
    assert b"Status pages" not in client.get("/").content  # no nav entry either


def test_the_empty_list_says_what_to_do(admin: Client) -> None:
    html = admin.get("/status-pages/").content.decode()
    assert 'id="status-pages-empty"' in html and "Create a status page" in html
    assert '<a href="/status-pages/" aria-current="page">Status pages</a>' in html


def test_an_admin_creates_a_page_from_the_form(admin: Client, page: StatusPage) -> None:
    response = admin.post("/status-pages/new/", {"title": "Acme status", "slug": "acme", "enabled": "on"})
    created = StatusPage.objects.get(slug="acme")
    assert response.status_code == 302 and response["Location"] == f"/status-pages/{created.id}/"
    assert created.enabled and not created.show_figures
    listed = admin.get("/status-pages/").content.decode()
    assert "Acme status" in listed and "/status/acme/" in listed and "Shop status" in listed
    assert AuditEntry.objects.filter(kind="statuspage", action="created", object_id=str(created.id)).exists()


def test_a_taken_or_bad_slug_is_shown_under_its_field(admin: Client, page: StatusPage) -> None:
    taken = admin.post("/status-pages/new/", {"title": "Again", "slug": "shop"})
    html = taken.content.decode()
    assert taken.status_code == 422 and 'id="slug-error"' in html and "another status page" in html
    assert 'value="Again"' in html and 'aria-invalid="true" aria-describedby="slug-error"' in html
    bad = admin.post("/status-pages/new/", {"title": "Again", "slug": "Not a slug"})
    assert bad.status_code == 422 and 'id="slug-error"' in bad.content.decode()
    assert StatusPage.objects.count() == 1


def test_components_are_added_renamed_and_removed(admin: Client, page: StatusPage) -> None:
    base = f"/status-pages/{page.id}"
    added = admin.post(f"{base}/components/", {"service": "payments", "function": "charge", "public_name": "Checkout"})
    assert added.status_code == 302
    component = StatusComponent.objects.get()
    assert (component.function.name, component.public_name) == ("charge", "Checkout")
    missing = admin.post(f"{base}/components/", {"service": "payments", "function": "nope", "public_name": "X"})
    html = missing.content.decode()
    assert missing.status_code == 422 and 'id="component-function-error"' in html and "no function named" in html
    assert 'value="X"' in html
    admin.post(f"{base}/components/{component.id}/", {"public_name": "Card checkout", "position": "3"})
    component.refresh_from_db()
    assert (component.public_name, component.position) == ("Card checkout", 3)
    settings = admin.get(f"{base}/").content.decode()
    assert 'value="Card checkout"' in settings and "Card checkout" in settings
    admin.post(f"{base}/components/{component.id}/remove/")
    assert not StatusComponent.objects.exists()
    history = admin.get(f"{base}/").content.decode()
    assert "removed component" in history and "added component" in history


def test_an_alert_is_published_updated_and_resolved(admin: Client, page: StatusPage, no_defaults: None) -> None:
    base = f"/status-pages/{page.id}"
    StatusComponent.objects.create(page=page, service=Service.objects.get(), public_name="Payments")
    alert = make_alert(make_rule())
    settings = admin.get(f"{base}/").content.decode()
    assert f'<option value="{alert.id}">#{alert.id} payments errors on payments/charge' in settings
    published = admin.post(
        f"{base}/incidents/", {"alert": str(alert.id), "title": "Card payments failing", "state": "investigating"}
    )
    incident = StatusIncident.objects.get()
    assert published.status_code == 302 and published["Location"] == f"{base}/incidents/{incident.id}/"
    assert incident.alert_id == alert.id
    admin.post(f"{base}/incidents/{incident.id}/", {"state": "identified", "body": "A bad deploy."})
    empty = admin.post(f"{base}/incidents/{incident.id}/", {"state": "monitoring", "body": ""})
    assert empty.status_code == 422 and 'id="update-body-error"' in empty.content.decode()
    admin.post(f"{base}/incidents/{incident.id}/", {"state": "resolved", "body": "Fixed."})
    incident.refresh_from_db()
    assert incident.state == "resolved" and incident.resolved_at is not None
    shown = admin.get(f"{base}/incidents/{incident.id}/").content.decode()
    assert "A bad deploy." in shown and "Fixed." in shown and f"alert #{alert.id}" in shown
    no_title = admin.post(f"{base}/incidents/", {"title": ""})
    assert no_title.status_code == 422 and 'id="incident-title-error"' in no_title.content.decode()


def test_deleting_a_page_asks_first_and_keeps_its_history(admin: Client, page: StatusPage) -> None:
    html = admin.get(f"/status-pages/{page.id}/").content.decode()
    assert 'data-confirm="Delete status page “Shop status”?' in html
    response = admin.post(f"/status-pages/{page.id}/delete/")
    assert response.status_code == 302 and not StatusPage.objects.exists()
    assert Client().get("/status/shop/").status_code == 404
    audit = admin.get("/audit/?kind=statuspage").content.decode()
    assert "deleted" in audit and "Shop status" in audit
