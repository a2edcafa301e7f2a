"""Silences: which alerts they hold back, and until when; how one reads on a page or in the API.

Evaluation asks `active(now)` once per round (one indexed query; a recurring window's
open hours are worked out in Python from its few fields) and then matches each open
alert against that short list in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from functools import cached_property

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from monitoring import audit
from monitoring.models import Service, default_project_id

from .models import DAY_NAMES, OPEN_STATES, Alert, Rule, Severity, Silence

FIELDS = (
    "service",
    "subject",
    "severity",
    "rule",
    "fingerprint",
    "starts_at",
    "ends_at",
    "days",
    "start_time",
    "minutes",
    "time_zone",
    "expire_on_resolve",
    "comment",
)
STATES = ("active", "scheduled", "expired")
ENDED = "ended"


@dataclass(frozen=True)
class Target:
    """What a silence is matched against: an alert, or one about to fire."""

    rule_id: int
    fingerprint: str
    service: str
    subject: str
    severity: str


@dataclass(frozen=True)
class Window:
    """A silence with a window open now, and when that window closes."""

    silence: Silence
    ends_at: datetime


class Owners:
    """Which project each service is in, read once on first use and shared by the silences of
    one lookup: a silence holds back only the alerts of its own project's services (issue 17).
    An alert on a service that no longer exists counts as the default project's."""

    @cached_property
    def projects(self) -> dict[str, int]:
        return dict(Service.objects.values_list("name", "project_id"))

    @cached_property
    def fallback(self) -> int:
        return default_project_id()

    def of(self, service: str) -> int:
        return self.projects.get(service, self.fallback)


def with_services(found: list[Silence]) -> list[Silence]:
    owners = Owners()
    for silence in found:
        silence.owners = owners
    return found


def matches(silence: Silence, target: Target | Alert) -> bool:
    if silence.rule_id is not None and silence.rule_id != target.rule_id:
        return False
    if not hasattr(silence, "owners"):
        with_services([silence])
    if silence.owners.of(target.service) != silence.project_id:
        return False
    if silence.fingerprint and silence.fingerprint != target.fingerprint:
        return False
    return (
        fnmatchcase(target.service, silence.service)
        and fnmatchcase(target.subject, silence.subject)
        and fnmatchcase(target.severity, silence.severity)
    )


def live(now: datetime) -> QuerySet[Silence]:
    """Silences not over by their end time (a recurring one may be between windows)."""
    return Silence.objects.filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))


def active(now: datetime) -> list[Window]:
    found = Silence.objects.filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now), starts_at__lte=now)
    windows = [(silence, silence.window_at(now)) for silence in found]
    opened = [Window(silence, window[1]) for silence, window in windows if window is not None]
    with_services([w.silence for w in opened])
    return opened


def until_for(windows: list[Window], target: Target | Alert) -> datetime | None:
    ends = [w.ends_at for w in windows if matches(w.silence, target)]
    return max(ends) if ends else None


def suppressed_until(rule: Rule, fingerprint: str, service: str, subject: str, now: datetime) -> datetime | None:
    """For an alert about to fire; marks the expire-on-resolve silences that now hold one."""
    target = Target(rule.id, fingerprint, service, subject, rule.severity)
    windows = [w for w in active(now) if matches(w.silence, target)]
    note_matched([w.silence for w in windows], now)
    return max((w.ends_at for w in windows), default=None)


def alert_suppressed_until(alert: Alert, now: datetime | None = None) -> datetime | None:
    return until_for(active(now or timezone.now()), alert)


def note_matched(found: list[Silence], now: datetime) -> None:
    ids = [s.id for s in found if s.expire_on_resolve and s.matched_at is None]
    if ids:
        Silence.objects.filter(id__in=ids, matched_at__isnull=True).update(matched_at=now)


def end_resolved(windows: list[Window], open_alerts: list[Alert], now: datetime) -> list[Silence]:
    """End the expire-on-resolve silences that held alerts and now match none that is open.

    open_alerts must be every open alert. A silence that never held one runs to its end time.
    """
    waiting = [w.silence for w in windows if w.silence.expire_on_resolve]
    holding = [s for s in waiting if any(matches(s, alert) for alert in open_alerts)]
    note_matched(holding, now)
    ended = []
    for silence in waiting:
        if silence.matched_at is None or silence in holding:
            continue
        with transaction.atomic():
            before = snapshot(silence)
            if not Silence.objects.filter(id=silence.id, ends_at=silence.ends_at).update(ends_at=now):
                continue
            silence.ends_at = now
            audit.record(None, ENDED, silence, before=before, after=snapshot(silence))
        ended.append(silence)
    return ended


def snapshot(silence: Silence) -> dict:
    values = audit.snapshot(silence, FIELDS)
    if silence.start_time is not None:
        values["start_time"] = silence.start_time.strftime("%H:%M")
    return values


def for_alert(alert: Alert, actor: AbstractBaseUser | None, until: datetime, comment: str) -> Silence:
    """A staff "suppress" on one alert: a silence on its fingerprint (call inside a transaction)."""
    project = Service.objects.filter(name=alert.service).values_list("project_id", flat=True).first()
    silence = Silence.objects.create(
        project_id=project or default_project_id(),
        rule_id=alert.rule_id,
        fingerprint=alert.fingerprint,
        service=alert.service,
        subject=alert.subject,
        ends_at=until,
        comment=comment,
        created_by=actor,
    )
    audit.record(actor, audit.CREATED, silence, after=snapshot(silence))
    return silence


def in_state(state: str, now: datetime) -> QuerySet[Silence]:
    """Silences that are active, scheduled or expired at now, newest first.

    One-off silences are sorted out in the database; recurring ones not yet over (a few)
    are placed by their windows in Python.
    """
    recurring = list(live(now).filter(start_time__isnull=False))
    by_state: dict[str, list[int]] = {name: [] for name in STATES}
    for silence in recurring:
        by_state[silence.state(now)].append(silence.id)
    once = Q(start_time__isnull=True)
    placed = Q(id__in=by_state[state])
    if state == "active":
        found = (once & Q(starts_at__lte=now, ends_at__gt=now)) | placed
    elif state == "scheduled":
        found = (once & Q(starts_at__gt=now)) | placed
    else:
        found = Q(ends_at__lte=now) | placed
    return Silence.objects.filter(found).select_related("rule", "created_by", "project")


def schedule_text(silence: Silence) -> str:
    """A recurring window in words: "Sat, Sun at 02:00 for 2 h (Europe/Berlin)"."""
    if not silence.is_recurring:
        return ""
    days = ", ".join(DAY_NAMES[d].capitalize() for d in sorted(silence.days))
    if sorted(silence.days) == list(range(7)):
        days = "Every day"
    return f"{days} at {silence.start_time:%H:%M} for {duration_text(silence.minutes or 0)} ({silence.time_zone})"


def duration_text(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" + (f" {rest} min" if rest else "")


def as_dict(silence: Silence, now: datetime | None = None) -> dict:
    """One silence as the API returns it and the pages show it."""
    now = now or timezone.now()
    window = silence.next_window(now)
    state = "active" if window is not None and window[0] <= now else "scheduled" if window else "expired"
    rule = silence.rule if silence.rule_id is not None else None
    return {
        "id": silence.id,
        "service": silence.service,
        "subject": silence.subject,
        "severity": silence.severity,
        "rule": silence.rule_id,
        "rule_name": rule.name if rule else None,
        "fingerprint": silence.fingerprint,
        "starts_at": silence.starts_at,
        "ends_at": silence.ends_at,
        "days": [DAY_NAMES[d] for d in sorted(silence.days)],
        "start_time": silence.start_time.strftime("%H:%M") if silence.start_time else None,
        "minutes": silence.minutes,
        "time_zone": silence.time_zone,
        "schedule": schedule_text(silence),
        "expire_on_resolve": silence.expire_on_resolve,
        "comment": silence.comment,
        "created_by": silence.created_by.get_username() if silence.created_by else None,
        "created": silence.created,
        "project": silence.project.slug,
        "state": state,
        "active": state == "active",
        "window_starts_at": window[0] if window else None,
        "window_ends_at": window[1] if window else None,
    }


def matching_alerts(silence: Silence, limit: int = 100) -> tuple[list[Alert], int]:
    """The open alerts its matchers take in right now, whatever its windows (a preview)."""
    candidates = Alert.objects.filter(state__in=OPEN_STATES).select_related("rule").order_by("-started_at", "-id")
    if silence.rule_id is not None:
        candidates = candidates.filter(rule_id=silence.rule_id)
    found = [alert for alert in candidates if matches(silence, alert)]
    return found[:limit], len(found)


def severity_matches_any(pattern: str) -> bool:
    return any(fnmatchcase(value, pattern) for value in Severity.values)
