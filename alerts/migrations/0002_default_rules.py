from __future__ import annotations

from django.db import migrations

# A new install starts with a log channel and these rules (documented in docs/alerts.md).
DEFAULT_RULES = [
    {"name": "High error rate", "metric": "error_rate", "op": ">", "threshold": 0.2, "resolve_threshold": 0.1,
     "window_minutes": 5, "min_calls": 10, "severity": "high"},
    {"name": "Breaker open", "metric": "breaker_open_s", "op": ">", "threshold": 0, "window_minutes": 5,
     "severity": "critical"},
    {"name": "Breaker flapping", "metric": "breaker_flips", "op": ">=", "threshold": 6, "window_minutes": 15,
     "severity": "medium"},
    {"name": "Slow calls (p95)", "metric": "p95_ms", "op": ">", "threshold": 2000, "window_minutes": 5,
     "min_calls": 10, "for_seconds": 120, "severity": "medium"},
    {"name": "Concurrency near its limit", "metric": "concurrency_utilisation", "op": ">=", "threshold": 0.9,
     "window_minutes": 5, "for_seconds": 300, "severity": "medium"},
    {"name": "Dead letters growing", "metric": "dead_letter_growth", "op": ">", "threshold": 0,
     "window_minutes": 15, "severity": "high"},
    {"name": "Queue message waiting too long", "metric": "oldest_pending_age_s", "op": ">", "threshold": 600,
     "window_minutes": 5, "severity": "medium"},
    {"name": "Reporter silent", "metric": "reporter_silent_minutes", "op": ">", "threshold": 10,
     "window_minutes": 5, "severity": "medium"},
]


def create_defaults(apps, schema_editor) -> None:  # noqa: ANN001
    Channel = apps.get_model("alerts", "Channel")
    Rule = apps.get_model("alerts", "Rule")
    if Rule.objects.exists() or Channel.objects.exists():
        return
    channel = Channel.objects.create(name="Log", kind="log", config={})
    for fields in DEFAULT_RULES:
        rule = Rule.objects.create(cooldown_minutes=60, **fields)
        rule.channels.add(channel)


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial")]
    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
