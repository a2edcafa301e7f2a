"""Escalation policies at work, with a real webhook receiver, a real SMTP server and the test
clock: an unacknowledged incident reaches step 2 of its policy (the webhook and the person's
e-mail hear the step named), an acknowledged one does not, resolving ends it, a repeat wraps
around then stops, two checks at once take a step once, and the timeline says each step."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings
from time_machine import TimeMachineFixture

from alerts import action_links, escalation, escalation_changes, incident_actions, lifecycle, link_actions
from alerts.evaluate import refresh_inhibition
from alerts.lifecycle import Observation, fire
from alerts.models import Alert, Channel, Delivery, EscalationPolicy, Incident, Rule, ServicePolicy
from monitoring.models import Service
from tests.alert_fixtures import at_once, make_rule
from tests.browser import join
from tests.receivers import HttpReceiver, SmtpReceiver

SECRET = "s3cret-s3cret-s3cret"
pytestmark = pytest.mark.usefixtures("notify_at_once")


@pytest.fixture
def clock(time_machine: TimeMachineFixture) -> TimeMachineFixture:
    time_machine.move_to(datetime(2026, 11, 30, 12, 0, tzinfo=UTC), tick=False)
    return time_machine


@pytest.fixture
def hook(http_receiver: HttpReceiver, no_defaults: None, settings: Settings) -> Channel:
    settings.MONITOR_DELIVERY_SCHEDULE_S = [0.0]
    return Channel.objects.create(
        name="#payments-oncall", kind="webhook", config={"url": http_receiver.url(), "secret": SECRET}
    )


@pytest.fixture
def first(no_defaults: None) -> Channel:
    return Channel.objects.create(name="primary log", kind="log", config={})


@pytest.fixture
def dave(db: None) -> User:
    user = User.objects.create_user("dave", is_staff=True)
    join(user, "responder")  # a person named in a step has a role in the policy's project
    escalation_changes.set_address(None, user, "dave@example.com", None)
    return user


def policy(*steps: dict, repeat: int = 0, name: str = "Payments on-call") -> EscalationPolicy:
    return escalation_changes.create(None, {"name": name, "repeat": repeat, "steps": list(steps)})


def step(wait: int = 5, channels: tuple[Channel, ...] = (), people: tuple[User, ...] = ()) -> dict:
    return {"wait_minutes": wait, "channels": [c.id for c in channels], "people": [p.id for p in people]}


def page(rule: Rule, capture: DjangoCaptureOnCommitCallbacks) -> Incident:
    """An alert of this rule fires; its incident's first notice goes at once (no group wait)."""
    with capture(execute=True):
        alert = fire(rule, Observation("function:1", "payments", "charge", 0.5))
    return Incident.objects.get(id=alert.incident_id)


def check(clock: TimeMachineFixture, minutes: float, capture: DjangoCaptureOnCommitCallbacks) -> int:
    """Minutes later, the periodic check runs, and what it wrote is sent once it commits."""
    clock.shift(timedelta(minutes=minutes))
    with capture(execute=True):
        return escalation.escalate_due()


def timeline(incident: Incident) -> list[str]:
    return [f"{e.action} {e.detail}" for e in incident.events.order_by("at", "id")]


def test_an_unacknowledged_incident_reaches_step_2_at_the_webhook_and_the_persons_email(
    first: Channel,
    hook: Channel,
    dave: User,
    http_receiver: HttpReceiver,
    smtp_server: SmtpReceiver,
    clock: TimeMachineFixture,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    rule = make_rule(escalation_policy=policy(step(5, (first,)), step(10, (hook,), (dave,))))
    incident = page(rule, django_capture_on_commit_callbacks)
    assert Delivery.objects.filter(channel=first, event="firing").count() == 1  # step 1, with the firing notice
    assert http_receiver.requests == [] and smtp_server.messages == []

    assert check(clock, 4, django_capture_on_commit_callbacks) == 0  # not yet: step 1 waits 5 min
    assert http_receiver.requests == []
    assert check(clock, 1, django_capture_on_commit_callbacks) == 1

    [request] = http_receiver.wait_for(1)
    body = request.json()
    assert body["event"] == "escalated"
    assert body["text"].startswith("Escalated to step 2 of Payments on-call: incident")
    assert body["incident"]["id"] == incident.id
    [mail] = smtp_server.wait_for(1)
    assert mail["To"] == "dave@example.com"
    assert "step 2 of Payments on-call" in mail["Subject"]
    text = mail.get_body(("plain",)).get_content()
    assert "Escalated to step 2 of Payments on-call" in text
    assert "/act/" in text  # dave can acknowledge from the mail
    lines = timeline(incident)
    assert "escalated to step 1 of Payments on-call: notified primary log" in lines
    assert "escalated to step 2 of Payments on-call: notified #payments-oncall, dave@example.com" in lines
    incident.refresh_from_db()
    assert (incident.escalation_step, incident.next_escalation_at) == (1, clock_now() + timedelta(minutes=10))


def test_acknowledging_from_the_link_in_the_persons_mail_stops_it_naming_them(
    first: Channel,
    hook: Channel,
    dave: User,
    smtp_server: SmtpReceiver,
    clock: TimeMachineFixture,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    policy_ = policy(step(5, (first,)), step(10, people=(dave,)), step(10, (hook,)))
    incident = page(make_rule(escalation_policy=policy_), django_capture_on_commit_callbacks)
    check(clock, 5, django_capture_on_commit_callbacks)
    [mail] = smtp_server.wait_for(1)
    text = mail.get_body(("plain",)).get_content()
    token = re.search(r"/act/([^/\s]+)/", text).group(1)
    claim = action_links.read(token)
    assert claim.action == "acknowledge"
    link_actions.use(claim)
    assert "escalation stopped acknowledged by dave@example.com" in timeline(incident)
    assert check(clock, 30, django_capture_on_commit_callbacks) == 0
    assert not Delivery.objects.filter(channel=hook).exists()


def clock_now() -> datetime:
    return datetime.now(UTC)


def test_an_acknowledged_incident_does_not_reach_step_2(
    first: Channel,
    hook: Channel,
    http_receiver: HttpReceiver,
    clock: TimeMachineFixture,
    people: object,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    rule = make_rule(escalation_policy=policy(step(5, (first,)), step(5, (hook,))))
    incident = page(rule, django_capture_on_commit_callbacks)
    clock.shift(timedelta(minutes=2))
    incident_actions.acknowledge(incident, people.responder.user)
    assert check(clock, 10, django_capture_on_commit_callbacks) == 0
    assert http_receiver.requests == []
    assert not Delivery.objects.filter(event="escalated").exists()
    assert "escalation stopped acknowledged by bob" in timeline(incident)
    incident.refresh_from_db()
    assert incident.next_escalation_at is None and incident.escalation_step == 0


def test_resolving_ends_it_and_the_steps_targets_hear_the_resolve(
    first: Channel,
    hook: Channel,
    http_receiver: HttpReceiver,
    clock: TimeMachineFixture,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    rule = make_rule(escalation_policy=policy(step(5, (first,)), step(5, (hook,)), step(5, (first,))))
    incident = page(rule, django_capture_on_commit_callbacks)
    check(clock, 5, django_capture_on_commit_callbacks)
    http_receiver.wait_for(1)
    with django_capture_on_commit_callbacks(execute=True):
        incident_actions.resolve(incident, None, "fixed")
    assert "escalation ended the incident resolved" in timeline(incident)
    assert check(clock, 30, django_capture_on_commit_callbacks) == 0
    requests = http_receiver.wait_for(2)
    assert [r.json()["event"] for r in requests] == ["escalated", "resolved"]
    assert Delivery.objects.filter(event="escalated").count() == 1


def test_suppressing_the_incident_ends_it(
    first: Channel,
    hook: Channel,
    clock: TimeMachineFixture,
    people: object,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    rule = make_rule(escalation_policy=policy(step(5, (first,)), step(5, (hook,))))
    incident = page(rule, django_capture_on_commit_callbacks)
    incident_actions.suppress(incident, people.responder.user, 60)
    assert check(clock, 10, django_capture_on_commit_callbacks) == 0
    assert "escalation ended suppressed by bob for 60 min" in timeline(incident)


def test_a_repeat_wraps_around_to_step_1_then_stops(
    first: Channel,
    hook: Channel,
    clock: TimeMachineFixture,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    rule = make_rule(escalation_policy=policy(step(5, (first,)), step(5, (hook,)), repeat=1))
    incident = page(rule, django_capture_on_commit_callbacks)
    taken = [check(clock, 5, django_capture_on_commit_callbacks) for _ in range(5)]
    assert taken == [1, 1, 1, 0, 0]
    steps = [line for line in timeline(incident) if line.startswith("escalated")]
    assert steps == [
        "escalated to step 1 of Payments on-call (round 1 of 2): notified primary log",
        "escalated to step 2 of Payments on-call (round 1 of 2): notified #payments-oncall",
        "escalated to step 1 of Payments on-call (round 2 of 2): notified primary log",
        "escalated to step 2 of Payments on-call (round 2 of 2): notified #payments-oncall",
    ]
    assert "escalation finished every step of Payments on-call ran, 2 rounds" in timeline(incident)
    incident.refresh_from_db()
    assert incident.next_escalation_at is None


def test_a_silenced_incident_does_not_escalate(
    first: Channel,
    hook: Channel,
    clock: TimeMachineFixture,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    rule = make_rule(escalation_policy=policy(step(5, (first,)), step(5, (hook,))))
    incident = page(rule, django_capture_on_commit_callbacks)
    Alert.objects.filter(incident=incident).update(suppressed_until=clock_now() + timedelta(hours=1))
    assert check(clock, 5, django_capture_on_commit_callbacks) == 0
    assert not Delivery.objects.filter(event="escalated").exists()
    assert any(line.startswith("escalation held every firing alert is silenced") for line in timeline(incident))


def checkout_paged_while_its_database_is_down(
    first: Channel, hook: Channel, capture: DjangoCaptureOnCommitCallbacks
) -> tuple[Alert, Alert]:
    """payments-db's critical alert fires, then checkout's (which depends on it, and whose rule
    escalates through first, then hook): the database's alert and checkout's, inhibited."""
    checkout, db = Service.objects.create(name="checkout"), Service.objects.create(name="payments-db")
    checkout.depends_on.add(db)
    critical = make_rule(name="db down", service="payments-db", severity="critical")
    db_down = fire(critical, Observation("function:9", "payments-db", "query", 1.0))
    rule = make_rule(service="checkout", severity="high", escalation_policy=policy(step(5, (first,)), step(5, (hook,))))
    with capture(execute=True):
        alert = fire(rule, Observation("function:1", "checkout", "pay", 0.5))
    return db_down, alert


def test_an_incident_whose_alerts_are_all_inhibited_never_escalates(
    first: Channel,
    hook: Channel,
    clock: TimeMachineFixture,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    _, alert = checkout_paged_while_its_database_is_down(first, hook, django_capture_on_commit_callbacks)
    incident = Incident.objects.get(id=alert.incident_id)
    assert Alert.objects.get(id=alert.id).inhibited_by_id is not None
    assert check(clock, 30, django_capture_on_commit_callbacks) == 0
    assert not Delivery.objects.filter(incident=incident).exists()
    assert not any(line.startswith("escalated") for line in timeline(incident))
    incident.refresh_from_db()
    assert incident.escalation_step is None


def test_an_incident_released_from_inhibition_starts_escalating_with_its_first_notice(
    first: Channel,
    hook: Channel,
    http_receiver: HttpReceiver,
    clock: TimeMachineFixture,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    db_down, alert = checkout_paged_while_its_database_is_down(first, hook, django_capture_on_commit_callbacks)
    incident = Incident.objects.get(id=alert.incident_id)
    assert check(clock, 10, django_capture_on_commit_callbacks) == 0  # inhibited: nothing starts

    # The database recovers while checkout still fails: its first notice goes, and step 1 with it.
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.resolve(db_down)
        refresh_inhibition()
    assert Alert.objects.get(id=alert.id).inhibited_by_id is None
    assert Delivery.objects.filter(incident=incident, channel=first, event="firing").count() == 1
    assert "escalated to step 1 of Payments on-call: notified primary log" in timeline(incident)
    assert http_receiver.requests == []

    assert check(clock, 5, django_capture_on_commit_callbacks) == 1  # step 1's wait counts from the release
    [request] = http_receiver.wait_for(1)
    assert request.json()["event"] == "escalated" and request.json()["incident"]["id"] == incident.id


def test_a_service_policy_applies_when_the_rule_names_none(
    first: Channel, clock: TimeMachineFixture, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    found = policy(step(5, (first,)))
    ServicePolicy.objects.create(service=Service.objects.create(name="payments"), policy=found)
    incident = page(make_rule(), django_capture_on_commit_callbacks)
    assert incident.escalation_policy_id == found.id
    assert Delivery.objects.filter(channel=first, event="firing").count() == 1


def test_a_channel_in_the_rule_and_step_1_gets_one_firing_notice(
    first: Channel, clock: TimeMachineFixture, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    rule = make_rule(first, escalation_policy=policy(step(5, (first,))))
    page(rule, django_capture_on_commit_callbacks)
    assert Delivery.objects.filter(channel=first, event="firing").count() == 1


def test_an_incident_without_a_policy_escalates_nothing(
    first: Channel, clock: TimeMachineFixture, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    incident = page(make_rule(first), django_capture_on_commit_callbacks)
    assert check(clock, 60, django_capture_on_commit_callbacks) == 0
    assert not any(line.startswith("escal") for line in timeline(incident))


@pytest.mark.django_db(transaction=True)
def test_two_checks_at_once_take_a_step_once(first: Channel, hook: Channel) -> None:
    rule = make_rule(escalation_policy=policy(step(5, (first,)), step(5, (hook,))))
    alert = fire(rule, Observation("function:1", "payments", "charge", 0.5))
    Incident.objects.filter(id=alert.incident_id).update(next_escalation_at=clock_now() - timedelta(seconds=1))
    outcomes = at_once(4, escalation.escalate_due)
    assert sorted(outcomes) == [0, 0, 0, 1]
    assert Delivery.objects.filter(channel=hook, event="escalated").count() == 1
    incident = Incident.objects.get(id=alert.incident_id)
    assert sum(line.startswith("escalated to step 2") for line in timeline(incident)) == 1
