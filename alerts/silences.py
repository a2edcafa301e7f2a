"""Silences: which alerts they hold back, and until when."""

from __future__ import annotations

from datetime import datetime
from fnmatch import fnmatchcase

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from .models import Alert, Rule, Silence


def matches(silence: Silence, rule_id: int, fingerprint: str, service: str, subject: str) -> bool:
    if silence.rule_id is not None and silence.rule_id != rule_id:
        return False
    if silence.fingerprint and silence.fingerprint != fingerprint:
        return False
    return fnmatchcase(service, silence.service) and fnmatchcase(subject, silence.subject)


def active(now: datetime) -> list[Silence]:
    return list(Silence.objects.filter(starts_at__lte=now, ends_at__gt=now))


def until_from(found: list[Silence], rule_id: int, fingerprint: str, service: str, subject: str) -> datetime | None:
    ends = [s.ends_at for s in found if matches(s, rule_id, fingerprint, service, subject)]
    return max(ends) if ends else None


def suppressed_until(rule: Rule, fingerprint: str, service: str, subject: str, now: datetime) -> datetime | None:
    return until_from(active(now), rule.id, fingerprint, service, subject)


def alert_suppressed_until(alert: Alert, now: datetime | None = None) -> datetime | None:
    return until_from(active(now or timezone.now()), alert.rule_id, alert.fingerprint, alert.service, alert.subject)


def for_alert(alert: Alert, actor: AbstractBaseUser | None, until: datetime, comment: str) -> Silence:
    return Silence.objects.create(
        rule_id=alert.rule_id,
        fingerprint=alert.fingerprint,
        service=alert.service,
        subject=alert.subject,
        ends_at=until,
        comment=comment,
        created_by=actor,
    )
