"""The hourly retention jobs forget old history, and only that: open alerts keep theirs whole."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from django.db import models
from django.utils import timezone
from pytest_django import Settings

from alerts import retention as alert_retention
from alerts.models import Alert, Breach, Channel, Delivery, Event, RecipientSend, Rule
from monitoring import retention
from monitoring.models import BreakerFlip, Function, Service
from resilience_site.periodic import JOBS
from resilience_site.scheduler import run_job
from tests.alert_fixtures import make_alert, make_rule

WATCHED = (Alert, Event, Delivery, Breach, RecipientSend, BreakerFlip, Rule, Channel, Function, Service)
RETENTION_JOBS = ("forget-old-breaker-flips", "forget-old-alert-history")


def ago(days: float = 0, hours: float = 0) -> datetime:
    return timezone.now() - timedelta(days=days, hours=hours)


def everything() -> set[tuple[str, int]]:
    return {(model.__name__, pk) for model in WATCHED for pk in model.objects.values_list("id", flat=True)}


@dataclass
class Seeds:
    gone: set[tuple[str, int]] = field(default_factory=set)

    def old(self, row: models.Model) -> models.Model:
        """A row the jobs must forget."""
        self.gone.add((type(row).__name__, row.pk))
        return row


@pytest.fixture
def retention_days(settings: Settings) -> None:
    settings.MONITOR_BREAKER_FLIP_RETENTION_DAYS = 30
    settings.MONITOR_DELIVERY_RETENTION_DAYS = 30
    settings.MONITOR_EVENT_RETENTION_DAYS = 90
    settings.MONITOR_RESOLVED_ALERT_RETENTION_DAYS = 180


def seed_bookkeeping(seeds: Seeds) -> None:
    function = Function.objects.create(service=Service.objects.create(name="payments"), name="charge")
    seeds.old(BreakerFlip.objects.create(function=function, old_state="closed", new_state="open", at=ago(days=31)))
    BreakerFlip.objects.create(function=function, old_state="open", new_state="closed", at=ago(days=29))
    seeds.old(RecipientSend.objects.create(recipient="oncall@example.org", at=ago(hours=2)))
    RecipientSend.objects.create(recipient="oncall@example.org", at=ago(hours=0.5))


def seed_without_alerts(seeds: Seeds, rule: Rule, channel: Channel) -> None:
    """A rule's own history and test notifications, which belong to no alert."""
    seeds.old(Event.objects.create(rule=rule, action="rule changed", at=ago(days=91)))
    Event.objects.create(rule=rule, action="rule changed", at=ago(days=89))
    for state in ("sent", "dead"):
        seeds.old(Delivery.objects.create(channel=channel, event="test", state=state, created=ago(days=31)))
    Delivery.objects.create(channel=channel, event="test", state="sent", created=ago(days=29))
    for state in ("pending", "sending"):
        Delivery.objects.create(channel=channel, event="test", state=state, created=ago(days=31))


def alert_with_history(rule: Rule, fingerprint: str, started: float, resolved: float | None) -> Alert:
    """An alert with its firing event and notification as old as the alert."""
    fields = {"state": "firing", "started_at": ago(days=started)}
    if resolved is not None:
        fields.update(state="resolved", resolved_at=ago(days=resolved))
    alert = make_alert(rule, fingerprint=fingerprint, **fields)
    Event.objects.create(alert=alert, rule=rule, action="fired", at=alert.started_at)
    Delivery.objects.create(
        alert=alert, channel=rule.channels.get(), event="firing", state="sent", created=alert.started_at
    )
    return alert


def seed_alerts(seeds: Seeds, rule: Rule) -> None:
    for fingerprint, started, resolved in [("open", 200, None), ("resolved-10d", 100, 10)]:
        alert_with_history(rule, fingerprint, started, resolved)  # kept whole
    resolved_60_days_ago = alert_with_history(rule, "resolved-60d", 61, 60)
    seeds.old(resolved_60_days_ago.deliveries.get())  # past the delivery retention, within the event one
    resolved_100_days_ago = alert_with_history(rule, "resolved-100d", 101, 100)
    seeds.old(resolved_100_days_ago.deliveries.get())
    seeds.old(resolved_100_days_ago.events.get())
    resolved_200_days_ago = alert_with_history(rule, "resolved-200d", 201, 200)
    seeds.old(resolved_200_days_ago.deliveries.get())
    seeds.old(resolved_200_days_ago.events.get())
    seeds.old(resolved_200_days_ago)
    still_sending = alert_with_history(rule, "resolved-200d-resending", 201, 200)
    seeds.old(still_sending.deliveries.get())
    seeds.old(still_sending.events.get())
    # Its resolved notice is still on its way: neither the alert nor that delivery goes.
    Delivery.objects.create(alert=still_sending, channel=rule.channels.get(), event="resolved", created=ago(days=200))


def seed_breaches(seeds: Seeds, rule: Rule) -> None:
    seeds.old(Breach.objects.create(rule=rule, fingerprint="rule-disabled-mid-wait", since=ago(days=200)))
    Breach.objects.create(rule=rule, fingerprint="open", since=ago(days=200))
    Breach.objects.create(rule=rule, fingerprint="waiting", since=ago(hours=1))


@pytest.mark.django_db(transaction=True)
def test_the_hourly_jobs_forget_exactly_the_old_rows(retention_days: None, caplog: pytest.LogCaptureFixture) -> None:
    seeds = Seeds()
    channel = Channel.objects.create(name="log", kind="log", config={})
    rule = make_rule(channel)
    seed_bookkeeping(seeds)
    seed_without_alerts(seeds, rule, channel)
    seed_alerts(seeds, rule)
    seed_breaches(seeds, rule)
    before = everything()
    assert seeds.gone < before

    for name in RETENTION_JOBS:
        run_job(JOBS[name][0])  # as the embedded scheduler runs it; beat sends the same task

    assert sorted(before - everything()) == sorted(seeds.gone)
    assert everything() == before - seeds.gone
    assert not [record for record in caplog.records if record.levelname == "ERROR"]


def test_it_forgets_more_rows_than_fit_in_one_chunk(
    db: None, retention_days: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "CHUNK", 2)
    RecipientSend.objects.bulk_create([RecipientSend(recipient="a@example.org", at=ago(hours=3)) for _ in range(5)])
    recent = RecipientSend.objects.create(recipient="a@example.org", at=ago(hours=0.1))
    function = Function.objects.create(service=Service.objects.create(name="s"), name="f")
    BreakerFlip.objects.bulk_create(
        [BreakerFlip(function=function, new_state="open", at=ago(days=40)) for _ in range(5)]
    )
    assert alert_retention.forget_old_recipient_sends() == 5
    assert retention.forget_old_flips() == 5
    assert list(RecipientSend.objects.all()) == [recent]
    assert not BreakerFlip.objects.exists()
