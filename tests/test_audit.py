"""The audit trail: what is recorded, who may read it (API and page), and how it reads."""

from __future__ import annotations

import pytest
from django.test import Client

from alerts.models import Rule
from monitoring import audit
from monitoring.models import AuditEntry, Service
from tests.alert_fixtures import People

pytestmark = pytest.mark.django_db

RULE_FIELDS = ("name", "threshold", "enabled")


def edited_rule(people: People) -> Rule:
    rule = Rule.objects.create(name="payments errors", metric="error_rate", threshold=0.2)
    audit.record(people.admin.user, audit.CREATED, rule, after=audit.snapshot(rule, RULE_FIELDS))
    before = audit.snapshot(rule, RULE_FIELDS)
    rule.threshold = 0.3
    rule.save()
    audit.record(people.admin.user, audit.UPDATED, rule, before=before, after=audit.snapshot(rule, RULE_FIELDS))
    return rule


def test_an_edit_keeps_only_the_fields_it_changed(people: People) -> None:
    rule = edited_rule(people)
    update = AuditEntry.objects.get(action=audit.UPDATED)
    assert (update.kind, update.object_id, update.label) == ("rule", str(rule.id), "payments errors")
    assert (update.before, update.after) == ({"threshold": 0.2}, {"threshold": 0.3})
    assert update.actor_name == "alice"


def test_an_edit_that_changed_nothing_is_not_recorded(people: People) -> None:
    service = Service.objects.create(name="payments")
    same = audit.snapshot(service, ("name",))
    assert audit.record(people.admin.user, audit.UPDATED, service, before=same, after=same) is None
    assert not AuditEntry.objects.exists()


def test_the_entry_still_names_who_once_the_account_is_gone(people: People) -> None:
    edited_rule(people)
    people.admin.user.delete()
    assert set(AuditEntry.objects.values_list("actor_name", flat=True)) == {"alice"}


def test_only_admins_read_the_audit_api(people: People, client: Client) -> None:
    edited_rule(people)
    assert client.get("/api/v1/audit").status_code == 401
    assert people.viewer.get("/api/v1/audit").status_code == 403
    assert people.responder.get("/api/v1/audit").status_code == 403
    answer = people.admin.get("/api/v1/audit")
    assert answer.status_code == 200
    body = answer.json()
    assert body["count"] == 2
    newest = body["items"][0]
    assert (newest["action"], newest["actor"], newest["before"], newest["after"]) == (
        "updated",
        "alice",
        {"threshold": 0.2},
        {"threshold": 0.3},
    )


def test_the_audit_api_filters_by_kind_object_and_action(people: People) -> None:
    rule = edited_rule(people)
    service = Service.objects.create(name="payments")
    audit.record(people.admin.user, audit.CREATED, service, after={"name": "payments"})
    assert people.admin.get("/api/v1/audit", kind="service").json()["count"] == 1
    one = people.admin.get("/api/v1/audit", kind="rule", object_id=str(rule.id), action="created").json()
    assert [e["after"]["threshold"] for e in one["items"]] == [0.2]
    refused = people.admin.get("/api/v1/audit", kind="x" * 31)
    assert refused.status_code == 422
    assert refused.json()["field"] == "kind"


def test_the_audit_page_is_for_admins(people: People, client: Client) -> None:
    assert client.get("/audit/").status_code == 302
    assert people.viewer.get("/audit/").status_code == 403
    assert people.responder.get("/audit/").status_code == 403
    assert people.admin.get("/audit/").status_code == 200


def test_the_audit_page_shows_before_and_after_and_filters_by_who(people: People) -> None:
    edited_rule(people)
    Service.objects.create(name="payments")
    audit.record(people.responder.user, audit.CREATED, Service.objects.get(), after={"name": "payments"})
    page = people.admin.get("/audit/").content.decode()
    assert "<del>0.2</del> → <ins>0.3</ins>" in page
    assert "3 in all" in page
    only_bob = people.admin.get("/audit/", actor="bob").content.decode()
    assert "1 in all" in only_bob
    assert "payments errors" not in only_bob


def test_an_empty_audit_says_what_will_appear(people: People) -> None:
    page = people.admin.get("/audit/").content.decode()
    assert "Nothing recorded yet" in page


def test_the_navigation_shows_each_role_what_it_can_use(people: People) -> None:
    # The page's header only: the links every role has (the services list among them) aside.
    admin, responder, viewer = (
        person.get("/").content.decode().split('<header class="top">')[1].split("</header>")[0]
        for person in (people.admin, people.responder, people.viewer)
    )
    for path in ("/rules/", "/channels/", "/silences/", "/settings/people/", "/audit/"):
        assert f'href="{path}"' in admin
        assert f'href="{path}"' not in viewer
    assert 'href="/silences/"' in responder
    assert 'href="/rules/"' not in responder
    assert 'href="/settings/tokens/"' in viewer
    assert all('href="/services/"' in header for header in (admin, responder, viewer))
