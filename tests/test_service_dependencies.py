"""What a service depends on: set through the services API and the settings page (admins only),
audited, never itself, never a cycle; read by every role."""

from __future__ import annotations

import pytest
from django.test import Client

from monitoring.models import AuditEntry, Service
from tests.alert_fixtures import People


@pytest.fixture
def fleet(db: None) -> dict[str, Service]:
    return {name: Service.objects.create(name=name) for name in ("checkout", "ledger", "payments-db")}


def depends_on(service: Service) -> list[str]:
    return sorted(service.depends_on.values_list("name", flat=True))


def test_it_sets_dependencies_by_name_or_id_and_audits_them(people: People, fleet: dict[str, Service]) -> None:
    checkout, ledger = fleet["checkout"], fleet["ledger"]
    r = people.admin.patch(f"/api/v1/services/{checkout.id}", {"depends_on": ["payments-db", ledger.id]})
    assert r.status_code == 200, r.content
    assert [d["name"] for d in r.json()["depends_on"]] == ["ledger", "payments-db"]
    assert r.json()["name"] == "checkout"  # a PATCH without a name keeps it
    assert depends_on(checkout) == ["ledger", "payments-db"]
    entry = AuditEntry.objects.get(kind="service", object_id=str(checkout.id), action="updated")
    assert (entry.actor_name, entry.before, entry.after) == (
        "alice",
        {"depends_on": []},
        {"depends_on": ["ledger", "payments-db"]},
    )
    listed = {s["name"]: s["depends_on"] for s in people.viewer.get("/api/v1/services").json()}
    assert [d["name"] for d in listed["checkout"]] == ["ledger", "payments-db"] and listed["ledger"] == []


def test_it_creates_a_service_with_its_dependencies(people: People, fleet: dict[str, Service]) -> None:
    r = people.admin.post("/api/v1/services", {"name": "shop", "depends_on": ["checkout"]})
    assert r.status_code == 201, r.content
    assert [d["name"] for d in r.json()["depends_on"]] == ["checkout"]
    created = AuditEntry.objects.get(action="created", kind="service")
    assert created.after == {"name": "shop", "depends_on": ["checkout"]}


@pytest.mark.parametrize(
    ("chain", "asked", "message"),
    [
        ([], "checkout", "a service cannot depend on itself"),
        ([], "nowhere", "no service named 'nowhere'"),
        ([("payments-db", "checkout")], "payments-db", "“payments-db” depends on “checkout” already"),
        (
            [("ledger", "payments-db"), ("payments-db", "checkout")],
            "ledger",
            "“ledger” depends on “checkout” already (ledger → payments-db → checkout)",
        ),
    ],
)
def test_it_refuses_itself_unknown_services_and_cycles(
    people: People, fleet: dict[str, Service], chain: list[tuple[str, str]], asked: str, message: str
) -> None:
    for source, target in chain:
        fleet[source].depends_on.add(fleet[target])
    r = people.admin.patch(f"/api/v1/services/{fleet['checkout'].id}", {"depends_on": [asked]})
    assert r.status_code == 422
    assert r.json()["detail"].startswith(f"depends_on: {message}")
    assert depends_on(fleet["checkout"]) == []
    assert not AuditEntry.objects.filter(action="updated").exists()


def test_it_refuses_an_unknown_id(people: People, fleet: dict[str, Service]) -> None:
    r = people.admin.patch(f"/api/v1/services/{fleet['checkout'].id}", {"depends_on": [999999]})
    assert r.status_code == 422 and r.json()["detail"] == "depends_on: no service with id 999999"


@pytest.mark.parametrize("role", ["viewer", "responder"])
def test_only_admins_set_dependencies(people: People, fleet: dict[str, Service], role: str) -> None:
    checkout = fleet["checkout"]
    r = getattr(people, role).patch(f"/api/v1/services/{checkout.id}", {"depends_on": ["ledger"]})
    assert r.status_code == 403
    assert getattr(people, role).get("/api/v1/services").status_code == 200
    page = getattr(people, role).client.post(f"/services/{checkout.id}/dependencies/", {"depends_on": ["ledger"]})
    assert page.status_code == 403
    assert depends_on(checkout) == []


def test_anonymous_callers_are_refused(client: Client, fleet: dict[str, Service]) -> None:
    checkout = fleet["checkout"]
    r = client.patch(f"/api/v1/services/{checkout.id}", b'{"depends_on": ["ledger"]}', content_type="application/json")
    assert r.status_code == 401
    assert client.get("/api/v1/services").status_code == 401
    page = client.post(f"/services/{checkout.id}/dependencies/", {"depends_on": ["ledger"]})
    assert page.status_code == 302 and "/login/" in page["Location"]
    assert depends_on(checkout) == []


def test_the_settings_page_sets_them(people: People, fleet: dict[str, Service]) -> None:
    checkout = fleet["checkout"]
    fleet["payments-db"].depends_on.add(fleet["ledger"])
    fleet["ledger"].depends_on.add(checkout)
    page = people.admin.get(f"/services/{checkout.id}/settings/").content.decode()
    assert 'name="depends_on" value="payments-db" disabled' in page  # it depends on checkout, through ledger
    assert "(depends on it)" in page
    r = people.admin.client.post(f"/services/{checkout.id}/dependencies/", {"depends_on": []})
    assert r.status_code == 302
    fleet["ledger"].depends_on.clear()
    r = people.admin.client.post(f"/services/{checkout.id}/dependencies/", {"depends_on": ["ledger", "payments-db"]})
    assert r.status_code == 302 and r["Location"] == f"/services/{checkout.id}/settings/"
    assert depends_on(checkout) == ["ledger", "payments-db"]
    page = people.admin.client.get(r["Location"]).content.decode()
    assert "“checkout” depends on “ledger”, “payments-db”." in page
    assert "depends on ledger, payments-db, was nothing" in page  # its history


def test_the_settings_page_names_a_cycle_under_the_field(people: People, fleet: dict[str, Service]) -> None:
    checkout = fleet["checkout"]
    fleet["ledger"].depends_on.add(checkout)
    r = people.admin.client.post(f"/services/{checkout.id}/dependencies/", {"depends_on": ["ledger"]})
    assert r.status_code == 422
    page = r.content.decode()
    assert 'aria-invalid="true" aria-describedby="depends_on-error"' in page
    assert '<p class="field-error" id="depends_on-error">“ledger” depends on “checkout” already' in page
    assert 'value="ledger" checked' in page  # what was asked stays
    assert depends_on(checkout) == []
