import monitoring.models
from django.db import migrations


class Migration(migrations.Migration):
    """HistogramField only decodes differently in Python: the columns stay as they are."""

    dependencies = [
        ('monitoring', '0005_drop_indexes_covered_by_unique_constraints'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='callbucket',
                    name='histogram',
                    field=monitoring.models.HistogramField(default=dict),
                ),
                migrations.AlterField(
                    model_name='callhour',
                    name='histogram',
                    field=monitoring.models.HistogramField(default=dict),
                ),
            ],
        ),
    ]
