"""The data migration of incidents: stored cooldowns of 0 become 1 minute, and alerts open
before incidents existed get one per subject, counted as notified, so their resolved
notice still reaches the channels that heard them fire."""

from __future__ import annotations

import importlib

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from alerts.models import Alert, Channel, Delivery, Incident, Rule
from tests.alert_fixtures import make_rule

MIGRATION = "0012_cooldown_minimum_and_open_incidents"


def run_migration() -> None:
    state = MigrationExecutor(connection).loader.project_state(("alerts", MIGRATION))
    importlib.import_module(f"alerts.migrations.{MIGRATION}").forwards(state.apps, None)


def test_it_raises_a_zero_cooldown_to_a_minute(no_defaults: None) -> None:
    make_rule(name="noisy")
    Rule.objects.update(cooldown_minutes=0)  # as an install before this change could hold
    quiet = make_rule(name="quiet", cooldown_minutes=30)
    run_migration()
    assert Rule.objects.get(name="noisy").cooldown_minutes == 1
    assert Rule.objects.get(id=quiet.id).cooldown_minutes == 30


def test_open_alerts_get_an_incident_per_subject(log_channel: Channel) -> None:
    rule = make_rule(log_channel)
    breaker = make_rule(log_channel, name="breaker open", metric="breaker_open_s", severity="high")
    fields = {"service": "payments", "subject": "charge", "metric": "error_rate", "value": 0.5, "threshold": 0.2}
    first = Alert.objects.create(rule=breaker, fingerprint="function:1", severity="high", **fields)
    second = Alert.objects.create(
        rule=rule, fingerprint="function:1", severity="critical", state="acknowledged", **fields
    )
    done = Alert.objects.create(rule=rule, fingerprint="function:2", severity="critical", state="resolved", **fields)
    Delivery.objects.create(alert=first, channel=log_channel, event="firing", state="sent")
    run_migration()
    incident = Incident.objects.get()
    assert (incident.state, incident.severity, incident.name) == ("open", "critical", "payments/charge")
    assert incident.notified_at is not None and incident.pending_event == ""
    assert set(incident.alerts.values_list("id", flat=True)) == {first.id, second.id}
    assert Alert.objects.get(id=done.id).incident is None
    assert Delivery.objects.get().incident == incident
