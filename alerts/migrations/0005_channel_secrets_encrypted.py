from __future__ import annotations

from django.db import migrations, models

from alerts import secrets
from alerts.transports import TRANSPORTS, ConfigError, transport_for


def secret_keys(kind: str) -> tuple[str, ...]:
    cls = TRANSPORTS.get(kind)
    return cls.secret_keys if cls else ()


def encrypt_plaintext(apps, schema_editor) -> None:
    """Move each channel's secrets out of config, encrypted with the first of MONITOR_SECRET_KEYS."""
    Channel = apps.get_model("alerts", "Channel")
    for channel in Channel.objects.all():
        keys = secret_keys(channel.kind)
        plain = {k: v for k, v in channel.config.items() if k in keys and v}
        try:
            channel.target = transport_for(channel.kind, channel.config).target()[:300]
        except (ConfigError, KeyError):
            channel.target = ""
        channel.config = {k: v for k, v in channel.config.items() if k not in keys}
        channel.sealed = {k: secrets.encrypt(v) for k, v in plain.items()}
        channel.save(update_fields=["config", "sealed", "target"])


def decrypt_back(apps, schema_editor) -> None:
    Channel = apps.get_model("alerts", "Channel")
    for channel in Channel.objects.all():
        channel.config = {**channel.config, **{k: secrets.decrypt(v) for k, v in channel.sealed.items()}}
        channel.save(update_fields=["config"])


class Migration(migrations.Migration):
    dependencies = [("alerts", "0004_alert_outlives_its_rule")]

    operations = [
        migrations.AddField(
            model_name="channel",
            name="sealed",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="channel",
            name="target",
            field=models.CharField(blank=True, default="", max_length=300),
        ),
        migrations.RunPython(encrypt_plaintext, decrypt_back),
    ]
