import monitoring.models
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0023_callbucket_outcomes"),
    ]

    operations = [
        migrations.AddField(
            model_name="rollupmark",
            name="minutes_version",
            field=models.PositiveBigIntegerField(default=monitoring.models.new_version),
        ),
    ]
