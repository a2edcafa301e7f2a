import monitoring.models
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0021_user_token_narrowing"),
    ]

    operations = [
        migrations.AddField(
            model_name="rollupmark",
            name="hours_version",
            field=models.PositiveBigIntegerField(default=monitoring.models.new_version),
        ),
    ]
