"""Cooldowns of 0 become 1 minute (the least now accepted), and each alert open before
incidents existed gets an incident of its own, counted as already notified, so that its
resolve notice still goes to the channels that heard it fire."""

from __future__ import annotations

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def forwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    Rule = apps.get_model("alerts", "Rule")
    Alert = apps.get_model("alerts", "Alert")
    Incident = apps.get_model("alerts", "Incident")
    Delivery = apps.get_model("alerts", "Delivery")
    Rule.objects.filter(cooldown_minutes__lt=1).update(cooldown_minutes=1)
    rank = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    opened: dict[str, object] = {}
    for alert in Alert.objects.filter(state__in=["firing", "acknowledged"], incident__isnull=True).order_by("id"):
        key = f"subject:{alert.service}/{alert.subject}"
        incident = opened.get(key)
        if incident is None:
            incident = opened[key] = Incident.objects.create(
                key=key,
                service=alert.service,
                subject=alert.subject,
                severity=alert.severity,
                state="acknowledged",
                started_at=alert.started_at,
                notified_at=alert.started_at,
                next_reminder_at=alert.next_reminder_at,
            )
        changes = {}
        if alert.state == "firing":
            changes["state"] = "open"
        if rank.get(alert.severity, 9) < rank.get(incident.severity, 9):
            changes["severity"] = alert.severity
        if changes:
            Incident.objects.filter(id=incident.id).update(**changes)
            for name, value in changes.items():
                setattr(incident, name, value)
        Alert.objects.filter(id=alert.id).update(incident=incident)
        Delivery.objects.filter(alert_id=alert.id).update(incident=incident)

class Migration(migrations.Migration):
    dependencies = [("alerts", "0011_incidents")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
