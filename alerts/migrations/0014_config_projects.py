# Rules, channels, silences, SLOs, escalation policies and status pages belong to a project
# (issue 17). What exists goes to the default project (slug "default", made if missing, as
# monitoring's 0019_projects does); an SLO to its service's project.

import django.db.models.deletion
from django.db import migrations, models

import monitoring.models

MODELS = ("channel", "escalationpolicy", "rule", "silence", "slo", "statuspage")


def to_default_project(apps, schema_editor):
    Project = apps.get_model("monitoring", "Project")
    project, _ = Project.objects.get_or_create(slug="default", defaults={"name": "Default"})
    for name in MODELS:
        apps.get_model("alerts", name).objects.filter(project__isnull=True).update(project=project)
    SLO = apps.get_model("alerts", "SLO")
    for slo in SLO.objects.select_related("service", "function__service"):
        service = slo.service or slo.function.service
        if slo.project_id != service.project_id:
            SLO.objects.filter(id=slo.id).update(project_id=service.project_id)


def field(null: bool) -> models.ForeignKey:
    if null:
        return models.ForeignKey(
            null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="monitoring.project"
        )
    return models.ForeignKey(
        default=monitoring.models.default_project_id,
        on_delete=django.db.models.deletion.PROTECT,
        related_name="+",
        to="monitoring.project",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0013_escalation_policies"),
        ("monitoring", "0020_service_project_required"),
    ]

    operations = [
        *[migrations.AddField(model_name=name, name="project", field=field(null=True)) for name in MODELS],
        migrations.RunPython(to_default_project, migrations.RunPython.noop),
        *[migrations.AlterField(model_name=name, name="project", field=field(null=False)) for name in MODELS],
    ]
