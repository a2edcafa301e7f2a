"""An alert's timeline: `record()` is the one place that writes an Event.

Pages showing an alert are told of each change through `listeners`, which the top floor
fills at start (the live dashboard); this app never imports the floor above it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from .models import Alert, Event, Incident, Rule

# Called with an alert's id once a change to it is committed.
listeners: list[Callable[[int], None]] = []
# Who acts without a login (an action link), for the lines written meanwhile: see acting_as.
acting: ContextVar[str] = ContextVar("acting", default="")


@contextmanager
def acting_as(label: str) -> Iterator[None]:
    """Name who acts on the timeline lines written inside, when no user does (actor None):
    an action link's recipient, so lifecycle's actions need no extra argument for it."""
    reset = acting.set(label[:254])
    try:
        yield
    finally:
        acting.reset(reset)


def record(
    alert: Alert | None,
    action: str,
    actor: AbstractBaseUser | None = None,
    detail: str = "",
    rule: Rule | None = None,
    incident: Incident | None = None,
) -> Event:
    """Write one timeline line. The single funnel for alert changes and their history; an
    incident's own lines name the incident (its timeline merges them with its alerts')."""
    event = Event.objects.create(
        alert=alert,
        rule=rule or (alert.rule if alert else None),
        incident=incident,
        actor=actor,
        actor_label="" if actor is not None else acting.get(),
        action=action,
        detail=detail,
    )
    if alert is not None:
        for listener in listeners:
            transaction.on_commit(partial(listener, alert.id))
    return event


def number(value: float | None) -> str:
    return "no data" if value is None else f"{round(value, 3):g}"
