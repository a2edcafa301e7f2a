"""The management commands a newcomer uses first."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from pytest_django import Settings

from monitoring.models import IngestToken, Service, UserToken
from tests.conftest import Reporter, call


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_service_prints_only_a_working_token(client: Client, db: None) -> None:
    printed = run("create_service", "payments")
    assert printed.count("\n") <= 1
    token = printed.strip()
    assert token.startswith("rmi_")
    assert Service.objects.get().name == "payments"
    assert Reporter(client, token).post({"calls": [call()]}).status_code == 202


def test_a_second_token_for_a_service_reuses_it(db: None) -> None:
    first, second = run("create_service", "payments").strip(), run("create_service", "payments").strip()
    assert first != second
    assert Service.objects.count() == 1
    assert IngestToken.objects.count() == 2


def test_tokens_are_stored_hashed(db: None) -> None:
    token = run("create_service", "payments").strip()
    stored = IngestToken.objects.get()
    assert stored.digest != token and token not in stored.digest
    assert stored.prefix == token[:12]


def test_create_service_refuses_a_bad_name(db: None) -> None:
    with pytest.raises(CommandError, match="printable"):
        run("create_service", "bad\x01name")


def test_revoke_token_stops_a_token_at_once(client: Client, db: None) -> None:
    token = run("create_service", "payments").strip()
    assert "revoked" in run("revoke_token", token[:12])
    assert Reporter(client, token).post({"calls": [call()]}).status_code == 401
    assert "already revoked" in run("revoke_token", token[:12])


def test_revoke_token_names_an_unknown_prefix(db: None) -> None:
    with pytest.raises(CommandError, match="no token starts with"):
        run("revoke_token", "rmi_nothing1")


def test_create_user_token_reads_the_api(client: Client, admin_user: User) -> None:
    token = run("create_user_token", admin_user.username).strip()
    assert token.startswith("rmu_")
    assert client.get("/api/v1/functions", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    run("revoke_token", token[:12])
    assert UserToken.objects.get().revoked is not None


def test_ensure_admin_creates_one_login_once(db: None, settings: Settings, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path
    first = run("ensure_admin")
    assert "password:" in first
    assert (tmp_path / "admin-login.txt").read_text().startswith("username: admin")
    second = run("ensure_admin")
    assert "already exists" in second and "password:" not in second
