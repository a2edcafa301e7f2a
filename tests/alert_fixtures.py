"""Fixtures and helpers shared by the alerts tests.

The fixtures (`people`, `no_defaults`, `log_channel`) reach every test through conftest's
`pytest_plugins`; import the helpers: `from tests.alert_fixtures import People, make_rule`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

import orjson
import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.utils import timezone
from pytest_django import Settings

from alerts.models import Alert, Channel, Incident, Rule
from monitoring.models import UserToken
from tests.browser import join

T = TypeVar("T")


class Person:
    """A user with a logged-in test client: .get/.post send JSON to the API."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.client = Client()
        self.client.force_login(user)

    def get(self, path: str, **query: object) -> HttpResponse:
        return self.client.get(path, query)

    def post(self, path: str, body: dict | None = None) -> HttpResponse:
        return self.client.post(path, orjson.dumps(body or {}), content_type="application/json")

    def patch(self, path: str, body: dict) -> HttpResponse:
        return self.client.patch(path, orjson.dumps(body), content_type="application/json")

    def delete(self, path: str) -> HttpResponse:
        return self.client.delete(path)


class People:
    def __init__(self) -> None:
        self.admin = Person(User.objects.create_superuser("alice", "alice@example.org", "pw-alice-123"))
        self.responder = Person(join(User.objects.create_user("bob", is_staff=True), "responder").user)
        self.viewer = Person(join(User.objects.create_user("carol"), "viewer").user)

    def token_for(self, person: Person) -> str:
        return UserToken.issue(user=person.user)[1]


@pytest.fixture
def people(db: None) -> People:
    return People()


@pytest.fixture
def no_defaults(db: None) -> None:
    """Start without the default rules and log channel a new install gets."""
    Rule.objects.all().delete()
    Channel.objects.all().delete()


@pytest.fixture
def notify_at_once(settings: Settings) -> None:
    """For tests about something else than grouping and hysteresis: an incident's first notice
    goes without a group wait, and a cleared condition resolves its alert in the same round."""
    settings.MONITOR_GROUP_WAIT_S = 0
    settings.MONITOR_RESOLVE_AFTER_S = 0


@pytest.fixture
def log_channel(no_defaults: None) -> Channel:
    return Channel.objects.create(name="log", kind="log", config={})


def make_rule(*channels: Channel, **fields: object) -> Rule:
    values = {
        "name": "payments errors",
        "metric": "error_rate",
        "op": ">",
        "threshold": 0.2,
        "window_minutes": 5,
        "min_calls": 10,
        "severity": "critical",
        "service": "payments",
        "subject": "*",
        "cooldown_minutes": 60,
    }
    values.update(fields)
    rule = Rule.objects.create(**values)
    rule.channels.set(channels)
    return rule


def make_alert(rule: Rule, **fields: object) -> Alert:
    values = {
        "fingerprint": "function:1",
        "service": "payments",
        "subject": "charge",
        "metric": rule.metric,
        "severity": rule.severity,
        "value": 0.5,
        "threshold": rule.threshold,
        "summary": "error_rate is 0.5",
        "next_reminder_at": timezone.now() + timedelta(minutes=rule.cooldown_minutes),
    }
    values.update(fields)
    alert = Alert.objects.create(rule=rule, **values)
    alert.incident = incident_for(alert)
    Alert.objects.filter(id=alert.id).update(incident=alert.incident)
    return alert


def incident_for(alert: Alert) -> Incident:
    """The incident a made alert belongs to: its subject's open one, or a new one, counted as
    already notified (as if its first notice had gone out when it fired)."""
    key = f"subject:{alert.service}/{alert.subject}"
    states = {"firing": "open", "acknowledged": "acknowledged", "resolved": "resolved"}
    found = Incident.objects.filter(key=key, state__in=["open", "acknowledged"]).first()
    if found is not None and alert.is_open:
        return found
    return Incident.objects.create(
        key=key,
        service=alert.service,
        subject=alert.subject,
        severity=alert.severity,
        state=states[alert.state],
        started_at=alert.started_at,
        resolved_at=alert.resolved_at,
        notified_at=alert.started_at,
    )


def failures(n: int, function: str = "charge") -> list[dict]:
    from tests.conftest import call

    return [call(function, outcome="failure", error_type="Boom") for _ in range(n)]


def successes(n: int, function: str = "charge") -> list[dict]:
    from tests.conftest import call

    return [call(function) for _ in range(n)]


def at_once(n: int, job: Callable[[], T]) -> list[T]:
    """Run job in n threads released together; each thread has its own database connection."""
    start = threading.Barrier(n)
    results: list[T] = []

    def run() -> None:
        try:
            start.wait()
            results.append(job())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
