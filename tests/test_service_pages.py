"""The services pages: every role reads the list; admins create services and manage a
service's settings (tokens, name, deletion); viewers and responders get the 403 page for
those; anonymous visitors the login form."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from monitoring.models import AuditEntry, Function, IngestToken, Service
from tests.browser import make_user
from tests.conftest import Reporter, call


@pytest.fixture
def admin(client: Client, db: None) -> Client:
    client.force_login(make_user("admin"))
    return client


@pytest.fixture
def payments(db: None) -> Service:
    return Service.objects.create(name="payments")


def shown_token(html: str) -> str | None:
    found = re.search(r'<code class="secret" id="new-token">(rmi_[\w-]+)</code>', html)
    return found.group(1) if found else None


def pages(service: Service) -> list[tuple[str, str]]:
    token, _ = IngestToken.issue(service=service)
    return [
        ("post", "/services/"),
        ("get", f"/services/{service.id}/settings/"),
        ("post", f"/services/{service.id}/rename/"),
        ("post", f"/services/{service.id}/delete/"),
        ("post", f"/services/{service.id}/tokens/"),
        ("post", f"/services/{service.id}/tokens/{token.id}/rotate/"),
        ("post", f"/services/{service.id}/tokens/{token.id}/revoke/"),
    ]


def test_anonymous_visitors_are_sent_to_log_in(client: Client, payments: Service) -> None:
    for method, path in [*pages(payments), ("get", "/services/"), ("get", f"/services/{payments.id}/")]:
        response = getattr(client, method)(path, {"name": "x", "grace_minutes": "0"})
        assert response.status_code == 302 and response["Location"].startswith("/login/"), path
    assert Service.objects.get().name == "payments" and IngestToken.objects.get().state == "active"


@pytest.mark.parametrize("role", ["viewer", "responder"])
def test_viewers_and_responders_get_the_403_page(client: Client, payments: Service, role: str) -> None:
    client.force_login(make_user(role))
    for method, path in pages(payments):
        response = getattr(client, method)(path, {"name": "x", "grace_minutes": "0"})
        assert response.status_code == 403, path
        assert "this needs the admin role" in response.content.decode()
    assert Service.objects.get().name == "payments" and IngestToken.objects.count() == 1
    assert IngestToken.objects.get().state == "active" and not AuditEntry.objects.exists()


@pytest.mark.parametrize("role", ["viewer", "responder"])
def test_the_navigation_offers_services_to_every_role_and_their_settings_to_admins(
    client: Client, db: None, role: str, payments: Service
) -> None:
    client.force_login(make_user(role))
    assert 'href="/services/"' in client.get("/functions/").content.decode()
    assert f"/services/{payments.id}/settings/" not in client.get("/services/").content.decode()


def test_an_empty_list_says_what_to_do(admin: Client) -> None:
    html = admin.get("/services/").content.decode()
    assert "No services yet" in html and 'id="create-service"' in html
    assert 'href="/services/" aria-current="page"' in html


def test_the_list_shows_each_service_with_its_last_report_and_tokens(
    admin: Client, client: Client, payments: Service
) -> None:
    _, raw = IngestToken.issue(service=payments)
    Reporter(client, raw).post({"calls": [call("charge"), call("refund")]})
    Service.objects.create(name="checkout")
    html = admin.get("/services/").content.decode()
    checkout, payments_row = re.findall(r'<tr data-service="\d+">.*?</tr>', html, re.S)
    assert ">checkout</a>" in checkout and "never" in checkout and '<span class="error"' in checkout
    assert ">payments</a>" in payments_row and "<time" in payments_row.split("</td>")[1]
    assert re.findall(r'<td class="num">(\d+)', payments_row) == ["2", "1"]


def test_the_list_goes_a_page_at_a_time(admin: Client, db: None) -> None:
    Service.objects.bulk_create(Service(name=f"service-{n:02}") for n in range(55))
    first = admin.get("/services/").content.decode()
    assert "55 in all" in first and ">service-49</a>" in first and ">service-50</a>" not in first
    assert 'href="?offset=50" rel="next"' in first
    second = admin.get("/services/?offset=50").content.decode()
    assert ">service-50</a>" in second and ">service-54</a>" in second and 'rel="prev"' in second


def test_an_admin_creates_a_service(admin: Client, db: None) -> None:
    response = admin.post("/services/", {"name": " checkout "})
    service = Service.objects.get()
    assert service.name == "checkout"
    assert response.status_code == 302 and response["Location"] == f"/services/{service.id}/settings/"
    html = admin.get(response["Location"]).content.decode()
    assert "Service “checkout” created" in html and "No tokens yet" in html
    assert AuditEntry.objects.get().actor_name == "admin"


@pytest.mark.parametrize(
    ("name", "message"),
    [("bad\x07name", "must be printable"), ("payments", "exists already"), ("x" * 101, "at most 100 characters")],
)
def test_a_bad_name_is_named_under_the_field(admin: Client, payments: Service, name: str, message: str) -> None:
    response = admin.post("/services/", {"name": name})
    html = response.content.decode()
    assert response.status_code == 422
    assert re.search(rf'<p class="field-error" id="name-error">[^<]*{message}', html)
    assert 'aria-invalid="true" aria-describedby="name-error"' in html
    assert Service.objects.count() == 1


def test_a_new_token_is_shown_once_and_fills_the_snippets(admin: Client, client: Client, payments: Service) -> None:
    response = admin.post(f"/services/{payments.id}/tokens/")
    assert response.status_code == 302
    html = admin.get(response["Location"]).content.decode()
    raw = shown_token(html)
    assert raw and IngestToken.objects.get().prefix == raw[:12]
    assert 'data-copy="#new-token"' in html and "not shown again" in html
    assert f"TOKEN='{raw}'" in html and f'configure("{settings.SITE_URL}", "{raw}")' in html
    assert Reporter(client, raw).post({"calls": [call()]}).status_code == 202

    again = admin.get(f"/services/{payments.id}/settings/").content.decode()
    assert raw not in again and shown_token(again) is None
    assert "paste the token here" in again and f"<code>{raw[:12]}…</code>" in again


def test_rotating_keeps_the_old_token_for_the_chosen_grace(admin: Client, client: Client, payments: Service) -> None:
    old, old_raw = IngestToken.issue(service=payments)
    response = admin.post(f"/services/{payments.id}/tokens/{old.id}/rotate/", {"grace_minutes": "1440"})
    html = admin.get(response["Location"]).content.decode()
    new_raw = shown_token(html)
    assert new_raw and new_raw != old_raw
    old.refresh_from_db()
    assert old.state == "expiring" and 1439 <= (old.expires - old.created).total_seconds() / 60 <= 1441
    assert re.search(rf'data-token="{old.prefix}" data-state="expiring">.*?until <time', html, re.S)
    assert Reporter(client, old_raw).post({"calls": [call()]}).status_code == 202
    assert Reporter(client, new_raw).post({"calls": [call()]}).status_code == 202
    assert f"replaced by <code>{new_raw[:12]}…</code>, working until <time" in html


def test_a_grace_period_past_the_limit_rotates_nothing(admin: Client, payments: Service) -> None:
    token, _ = IngestToken.issue(service=payments)
    response = admin.post(f"/services/{payments.id}/tokens/{token.id}/rotate/", {"grace_minutes": "999999"})
    html = admin.get(response["Location"]).content.decode()
    assert "was not rotated: grace_minutes" in html
    assert IngestToken.objects.get().state == "active"


def test_revoking_asks_first_and_stops_the_token(admin: Client, client: Client, payments: Service) -> None:
    token, raw = IngestToken.issue(service=payments)
    html = admin.get(f"/services/{payments.id}/settings/").content.decode()
    assert f'data-confirm="Revoke token {token.prefix}…?' in html
    response = admin.post(f"/services/{payments.id}/tokens/{token.id}/revoke/")
    html = admin.get(response["Location"]).content.decode()
    assert f"Token {token.prefix}… revoked" in html
    assert re.search(rf'data-token="{token.prefix}" data-state="revoked"', html)
    assert Reporter(client, raw).post({"calls": [call()]}).status_code == 401


def test_rename_and_delete_are_recorded_in_the_history(admin: Client, payments: Service) -> None:
    Service.objects.create(name="checkout")
    clash = admin.post(f"/services/{payments.id}/rename/", {"name": "checkout"})
    assert clash.status_code == 422 and 'id="name-error"' in clash.content.decode()
    assert 'value="checkout"' in clash.content.decode()
    admin.post(f"/services/{payments.id}/rename/", {"name": "billing"})
    html = admin.get(f"/services/{payments.id}/settings/").content.decode()
    assert "renamed\n    the service from “payments” to “billing”" in html

    Function.objects.create(service=payments, name="charge")
    response = admin.post(f"/services/{payments.id}/delete/")
    assert response["Location"] == "/services/"
    assert not Service.objects.filter(id=payments.id).exists() and not Function.objects.exists()
    assert list(AuditEntry.objects.filter(kind="service").values_list("action", flat=True)) == ["deleted", "renamed"]


def test_an_unknown_service_is_not_found(admin: Client, db: None) -> None:
    assert admin.get("/services/999/settings/").status_code == 404
    assert admin.get("/services/999/").status_code == 404


def test_the_token_shown_once_belongs_to_its_own_service(admin: Client, payments: Service) -> None:
    other = Service.objects.create(name="checkout")
    admin.post(f"/services/{payments.id}/tokens/")
    assert shown_token(admin.get(f"/services/{other.id}/settings/").content.decode()) is None
    assert User.objects.count() == 1
