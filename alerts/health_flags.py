"""Writes down on each function whether a rule holds against it (`Function.alerting`), so
its health agrees with the rules: an open alert of an enabled rule on the function, or a
pending breach (its value past a rule's threshold, waiting out the rule's `for`).

Set-based: two UPDATEs whatever the number of functions, each writing only the rows whose
flag changes. Called when an alert fires or resolves and at the end of every round.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import IntegerField, Q, QuerySet
from django.db.models.functions import Cast, Substr

from monitoring.models import Function

from .models import OPEN_STATES, Alert, Breach

PREFIX = "function:"
# Only a fingerprint of this shape names a function by id; nothing else is cast to a number
# (PostgreSQL would refuse the cast of anything else, and the whole statement with it).
FUNCTION_FINGERPRINT = r"^function:[0-9]+$"


def function_id(fingerprint: str) -> int | None:
    """The function an alert or breach is about, or None for a queue's or a service's."""
    number = fingerprint[len(PREFIX) :]
    return int(number) if fingerprint.startswith(PREFIX) and number.isdigit() else None


def subject_ids(rows: QuerySet) -> QuerySet:
    """The function ids named by these rows' fingerprints ("function:<id>"), as a subquery."""
    about_functions = rows.filter(fingerprint__regex=FUNCTION_FINGERPRINT, rule__enabled=True)
    return about_functions.values(found=Cast(Substr("fingerprint", len(PREFIX) + 1), IntegerField()))


def rules_hold() -> Q:
    open_alerts = Alert.objects.filter(state__in=OPEN_STATES)
    return Q(id__in=subject_ids(open_alerts)) | Q(id__in=subject_ids(Breach.objects.all()))


def refresh(function_ids: Iterable[int] | None = None) -> int:
    """Set the flag of these functions (None: all) from the open alerts and pending breaches;
    returns how many flags changed."""
    functions = Function.objects.all()
    if function_ids is not None:
        functions = functions.filter(id__in=list(function_ids))
    held = rules_hold()
    raised = functions.filter(held, alerting=False).update(alerting=True)
    lowered = functions.filter(alerting=True).exclude(held).update(alerting=False)
    return raised + lowered


def refresh_subject(fingerprint: str) -> None:
    """After one alert changed: its function's flag, if it is about a function (looked up by
    its fingerprint: cheaper for one function than the set-based refresh)."""
    found = function_id(fingerprint)
    if found is None:
        return
    alerts = Alert.objects.filter(fingerprint=fingerprint, state__in=OPEN_STATES, rule__enabled=True)
    held = alerts.exists() or Breach.objects.filter(fingerprint=fingerprint, rule__enabled=True).exists()
    Function.objects.filter(id=found).exclude(alerting=held).update(alerting=held)
