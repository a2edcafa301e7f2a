# The default project holds every service (0018): from now on a service always has one.

import django.db.models.deletion
from django.db import migrations, models

import monitoring.models


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0019_projects"),
    ]

    operations = [
        migrations.AlterField(
            model_name="service",
            name="project",
            field=models.ForeignKey(default=monitoring.models.default_project_id, on_delete=django.db.models.deletion.PROTECT, related_name="services", to="monitoring.project"),
        ),
    ]
