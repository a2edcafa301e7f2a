"""Ingest tokens over their life: a rotated token works through its grace period and stops
after it; a revoked one stops at once; the audit trail names them by prefix only."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from monitoring import service_changes
from monitoring.errors import InputError
from monitoring.models import AuditEntry, IngestToken, Service
from monitoring.services import service_rows
from tests.browser import OWNER
from tests.conftest import Reporter, call


@pytest.fixture
def payments(db: None) -> Service:
    return Service.objects.create(name="payments")


def accepted(client: Client, raw: str) -> bool:
    status = Reporter(client, raw).post({"calls": [call()]}).status_code
    assert status in (202, 401), status
    return status == 202


def test_a_rotated_token_works_until_its_grace_period_ends(client: Client, payments: Service) -> None:
    old, old_raw = service_changes.create_token(None, payments)
    new, new_raw = service_changes.rotate_token(None, old, grace_minutes=60)
    assert accepted(client, old_raw) and accepted(client, new_raw)
    assert [row["active_tokens"] for row in service_rows(OWNER)] == [2]

    with time_machine.travel(timezone.now() + timedelta(minutes=59), tick=False):
        assert accepted(client, old_raw)
    with time_machine.travel(timezone.now() + timedelta(minutes=61), tick=False):
        assert not accepted(client, old_raw)
        assert accepted(client, new_raw)
        assert IngestToken.objects.get(id=old.id).state == "expired"
        assert [row["active_tokens"] for row in service_rows(OWNER)] == [1]


def test_no_grace_stops_the_old_token_at_once(client: Client, payments: Service) -> None:
    old, old_raw = service_changes.create_token(None, payments)
    _, new_raw = service_changes.rotate_token(None, old, grace_minutes=0)
    assert not accepted(client, old_raw)
    assert accepted(client, new_raw)


def test_revoking_a_token_in_its_grace_period_stops_it_at_once(client: Client, payments: Service) -> None:
    old, old_raw = service_changes.create_token(None, payments)
    service_changes.rotate_token(None, old, grace_minutes=10080)
    assert accepted(client, old_raw)
    assert service_changes.revoke_token(None, old).state == "revoked"
    assert not accepted(client, old_raw)


def test_a_revoked_token_cannot_be_rotated(payments: Service) -> None:
    token, _ = service_changes.create_token(None, payments)
    service_changes.revoke_token(None, token)
    with pytest.raises(InputError, match="is revoked"):
        service_changes.rotate_token(None, token, grace_minutes=60)
    assert IngestToken.objects.count() == 1


def test_the_audit_trail_names_tokens_by_prefix_and_never_holds_one(payments: Service) -> None:
    token, first = service_changes.create_token(None, payments)
    new, second = service_changes.rotate_token(None, token, grace_minutes=60)
    service_changes.revoke_token(None, new)
    entries = list(AuditEntry.objects.filter(kind="ingesttoken").order_by("id"))
    assert [e.action for e in entries] == ["created", "rotated", "created", "revoked"]
    assert entries[1].after["replaced_by"] == new.prefix and entries[2].after["replaces"] == token.prefix
    assert all(e.actor_name == "system" for e in entries)
    stored = repr([(e.label, e.before, e.after) for e in AuditEntry.objects.all()])
    assert first not in stored and second not in stored
    assert token.prefix in stored
    assert first[12:20] not in stored and second[12:20] not in stored  # nothing past the prefix


def test_the_commands_record_what_they_change(client: Client, db: None) -> None:
    out = StringIO()
    call_command("create_service", "  payments ", stdout=out)
    raw = out.getvalue().strip()
    assert Service.objects.get().name == "payments"
    call_command("revoke_token", raw[:12], stdout=StringIO())
    assert not accepted(client, raw)
    actions = list(AuditEntry.objects.order_by("id").values_list("kind", "action", "actor_name"))
    assert actions == [
        ("service", "created", "system"),
        ("ingesttoken", "created", "system"),
        ("ingesttoken", "revoked", "system"),
    ]
