"""Creating, previewing and ending silences: what the API and the pages both call.

Each change and its audit entry are written in one transaction; the open alerts then show
the change at once (`refresh_suppression`) rather than at the next evaluation round.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from monitoring import audit
from monitoring.errors import InputError
from monitoring.models import Project

from . import silences
from .api.schemas import SilenceIn
from .evaluate import refresh_suppression
from .models import DAY_NAMES, Rule, Silence

Actor = AbstractBaseUser | AnonymousUser | None
# A recurring window lasts at most a week (it may then overlap the next one).
LONGEST_RECURRING_MINUTES = 7 * 24 * 60


def planned(payload: SilenceIn, now: datetime, project: Project) -> Silence:
    """The silence the payload describes, in project, checked and not saved; InputError names a
    bad field (a rule of another project is not found)."""
    if payload.rule is not None and not Rule.objects.filter(id=payload.rule, project=project).exists():
        raise InputError("rule", f"no rule with id {payload.rule}")
    if not silences.severity_matches_any(payload.severity):
        raise InputError("severity", "matches no severity (critical, high, medium, low)")
    silence = Silence(
        project=project,
        service=payload.service,
        subject=payload.subject,
        severity=payload.severity,
        rule_id=payload.rule,
        starts_at=payload.starts_at or now,
        time_zone=payload.time_zone,
        expire_on_resolve=payload.expire_on_resolve,
        comment=payload.comment,
    )
    if payload.days or payload.start_time is not None:
        recurring(silence, payload, now)
    else:
        once(silence, payload, now)
    return silence


def once(silence: Silence, payload: SilenceIn, now: datetime) -> None:
    if payload.ends_at is not None and payload.minutes is not None:
        raise InputError("minutes", "give ends_at or minutes, not both")
    if payload.ends_at is None and payload.minutes is None:
        raise InputError("ends_at", "give ends_at or minutes")
    silence.ends_at = payload.ends_at or silence.starts_at + timedelta(minutes=payload.minutes)
    check_end(silence, now)


def recurring(silence: Silence, payload: SilenceIn, now: datetime) -> None:
    if not payload.days:
        raise InputError("days", "pick at least one day for a recurring window")
    if payload.start_time is None:
        raise InputError("start_time", "give the time each window opens, HH:MM")
    if payload.minutes is None:
        raise InputError("minutes", "give each window's length in minutes")
    if payload.minutes > LONGEST_RECURRING_MINUTES:
        raise InputError("minutes", f"a recurring window lasts at most {LONGEST_RECURRING_MINUTES} minutes (a week)")
    if payload.expire_on_resolve:
        raise InputError("expire_on_resolve", "only a one-off silence can end when its alerts resolve")
    silence.days = sorted({DAY_NAMES.index(day) for day in payload.days})
    silence.start_time = time.fromisoformat(payload.start_time)
    silence.minutes = payload.minutes
    silence.ends_at = payload.ends_at
    if silence.ends_at is not None:
        check_end(silence, now)
    if silence.next_window(now) is None:
        raise InputError("ends_at", "no window opens before this")


def check_end(silence: Silence, now: datetime) -> None:
    if silence.ends_at <= silence.starts_at:
        raise InputError("ends_at", "must be after starts_at")
    if silence.ends_at <= now:
        raise InputError("ends_at", "must be in the future")


def create(actor: Actor, payload: SilenceIn, project: Project) -> Silence:
    silence = planned(payload, timezone.now(), project)
    with transaction.atomic():
        silence.created_by = actor if actor is not None and actor.is_authenticated else None
        silence.save()
        audit.record(actor, audit.CREATED, silence, after=silences.snapshot(silence))
    refresh_suppression()
    return silence


def preview(payload: SilenceIn, project: Project) -> dict:
    """Which open alerts the payload's silence would hold right now (its project's), and when it
    would be active."""
    now = timezone.now()
    silence = planned(payload, now, project)
    alerts, count = silences.matching_alerts(silence)
    shown = silences.as_dict(silence, now)
    return {
        "count": count,
        "alerts": alerts,
        "state": shown["state"],
        "window_starts_at": shown["window_starts_at"],
        "window_ends_at": shown["window_ends_at"],
    }


def end(silence: Silence, actor: Actor) -> str:
    """End it now: "ended"; one that has not started is dropped: "deleted"; over already: ""."""
    now = timezone.now()
    with transaction.atomic():
        before = silences.snapshot(silence)
        if silence.starts_at > now:
            audit.record(actor, audit.DELETED, silence, before=before)
            silence.delete()
            outcome = audit.DELETED
        elif (
            Silence.objects.filter(id=silence.id, ends_at=silence.ends_at).exclude(ends_at__lte=now).update(ends_at=now)
        ):
            silence.ends_at = now
            audit.record(actor, silences.ENDED, silence, before=before, after=silences.snapshot(silence))
            outcome = silences.ENDED
        else:
            outcome = ""
    if outcome:
        refresh_suppression()
    return outcome
