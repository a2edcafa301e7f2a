"""Channel secrets at rest: encrypted in the row, readable with any listed key, re-encrypted
with the first by rotate_channel_secrets, so the old key can then be dropped."""

from __future__ import annotations

import importlib
import subprocess
import sys
from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from pytest_django import Settings

from alerts import secrets
from alerts.models import Channel
from alerts.transports import ConfigError
from tests.conftest import ROOT
from tests.docs import shell_blocks

WEBHOOK_SECRET = "webhook-signing-secret-0123456789"
OLD_SECRET = "the-previous-signing-secret-42"
SLACK_URL = "https://hooks.slack.example.org/services/T1/B2/slack-url-secret"
SMTP_PASSWORD = "smtp-password-do-not-store-plain"


def raw_row(channel: Channel) -> str:
    """The channel's row as the database holds it, every column as text."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM alerts_channel WHERE id = %s", [channel.id])
        return " ".join(str(value) for value in cursor.fetchone())


SMTP = {"smtp_host": "smtp.example.org", "smtp_port": 587, "smtp_security": "starttls", "smtp_username": "monitor"}
PLAIN = {
    "hook": {"url": "https://hooks.example.org/x", "secret": WEBHOOK_SECRET, "previous_secret": OLD_SECRET},
    "slack": {"url": SLACK_URL},
    "mail": {"to": ["a@example.org"], **SMTP, "smtp_password": SMTP_PASSWORD},
}
KINDS = {"hook": "webhook", "slack": "slack", "mail": "email"}


def make_channels() -> list[Channel]:
    return [Channel.objects.create(name=name, kind=KINDS[name], config=config) for name, config in PLAIN.items()]


@pytest.fixture
def channels(no_defaults: None) -> list[Channel]:
    return make_channels()


def test_the_row_holds_no_secret_in_plain_text(channels: list[Channel]) -> None:
    rows = " ".join(raw_row(c) for c in channels)
    for secret in (WEBHOOK_SECRET, OLD_SECRET, SLACK_URL, "slack-url-secret", SMTP_PASSWORD):
        assert secret not in rows
    # What is not secret stays readable, and the transports get the secrets back.
    assert "https://hooks.example.org/x" in rows and "smtp.example.org" in rows
    hook, slack, mail = (Channel.objects.get(id=c.id) for c in channels)
    assert hook.transport().config["secret"] == WEBHOOK_SECRET
    assert hook.transport().config["previous_secret"] == OLD_SECRET
    assert slack.transport().config["url"] == SLACK_URL
    assert mail.transport().config["smtp_password"] == SMTP_PASSWORD
    assert set(hook.sealed) == {"secret", "previous_secret"} and set(mail.sealed) == {"smtp_password"}


def test_the_default_key_comes_from_secret_key(settings: Settings) -> None:
    settings.MONITOR_SECRET_KEYS = []
    token = secrets.encrypt("x")
    assert Fernet(secrets.derived_key(settings.SECRET_KEY)).decrypt(token.encode()) == b"x"
    settings.SECRET_KEY = "another-secret-key"
    with pytest.raises(secrets.SecretUnreadable):
        secrets.decrypt(token)


def test_rotation_reencrypts_so_the_old_key_can_be_dropped(no_defaults: None, settings: Settings) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.MONITOR_SECRET_KEYS = [old]
    channels = make_channels()
    settings.MONITOR_SECRET_KEYS = [new, old]
    out = StringIO()
    call_command("rotate_channel_secrets", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == f"[1/3] hook (#{channels[0].id}): 2 secret(s)"
    assert lines[-1] == "re-encrypted 4 secret(s) of 3 channel(s) with the first key"

    settings.MONITOR_SECRET_KEYS = [new]
    hook, slack, mail = (Channel.objects.get(id=c.id) for c in channels)
    assert hook.full_config()["secret"] == WEBHOOK_SECRET
    assert slack.full_config()["url"] == SLACK_URL
    assert mail.full_config()["smtp_password"] == SMTP_PASSWORD
    for channel in (hook, slack, mail):
        for token in channel.sealed.values():
            with pytest.raises(InvalidToken):
                Fernet(old).decrypt(token.encode())


def test_the_migration_encrypts_what_was_stored_in_plain_text(channels: list[Channel]) -> None:
    state = MigrationExecutor(connection).loader.project_state(("alerts", "0005_channel_secrets_encrypted"))
    # As an install before this change kept them: the secrets in config, in plain text.
    for channel in channels:
        Channel.objects.filter(id=channel.id).update(config=PLAIN[channel.name], sealed={}, target="")
    assert SLACK_URL in raw_row(channels[1])
    migration = importlib.import_module("alerts.migrations.0005_channel_secrets_encrypted")
    migration.encrypt_plaintext(state.apps, None)
    for channel in channels:
        assert not any(secret in raw_row(channel) for secret in (WEBHOOK_SECRET, OLD_SECRET, SLACK_URL, SMTP_PASSWORD))
        assert Channel.objects.get(id=channel.id).full_config() == PLAIN[channel.name]
    assert Channel.objects.get(id=channels[1].id).target == "Slack incoming webhook on hooks.slack.example.org"


def test_rotation_fails_loudly_on_a_secret_no_key_reads(channels: list[Channel], settings: Settings) -> None:
    settings.MONITOR_SECRET_KEYS = [Fernet.generate_key().decode()]
    out = StringIO()
    with pytest.raises(CommandError, match="3 channel\\(s\\) hold secrets no key"):
        call_command("rotate_channel_secrets", stdout=out)
    assert "NOT READABLE" in out.getvalue()


def test_a_channel_whose_key_was_dropped_fails_its_deliveries_plainly(
    channels: list[Channel], settings: Settings
) -> None:
    settings.MONITOR_SECRET_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(ConfigError, match="cannot be decrypted"):
        Channel.objects.get(id=channels[0].id).transport()


def test_a_bad_key_stops_the_site_with_its_name() -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "MONITOR_SECRET_KEYS": f"{Fernet.generate_key().decode()},not-a-key"},
    )
    assert done.returncode != 0
    assert "MONITOR_SECRET_KEYS: key 2 is not a Fernet key" in done.stderr


@pytest.mark.django_db(transaction=True)
def test_the_guides_rotation_runs_as_written(subprocess_env: dict[str, str], settings: Settings) -> None:
    """docs/deployment.md: NEW,OLD, the command, then NEW alone reads every secret."""
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.MONITOR_SECRET_KEYS = [old]
    Channel.objects.all().delete()
    channels = make_channels()
    block = next(b for b in shell_blocks(ROOT / "docs" / "deployment.md") if b.kind == "rotate-secrets")
    env = {**subprocess_env, "MONITOR_SECRET_KEYS": f"{new},{old}"}
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", block.body], cwd=ROOT, env=env, capture_output=True)
    assert done.returncode == 0, done.stderr
    assert b"re-encrypted 4 secret(s) of 3 channel(s) with the first key" in done.stdout
    settings.MONITOR_SECRET_KEYS = [new]
    assert [Channel.objects.get(id=c.id).full_config() for c in channels] == list(PLAIN.values())
