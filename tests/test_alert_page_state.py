"""How long an alert has fired, and which value is which: the one it fired with, the latest."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts import lifecycle
from alerts.models import Alert
from alerts.read import duration
from tests.alert_fixtures import People, make_alert, make_rule

pytestmark = pytest.mark.django_db


def state_of(people: People, alert: Alert) -> str:
    return people.viewer.get(f"/fragments/alerts/{alert.id}/state", headers={"HX-Request": "true"}).content.decode()


def test_it_says_how_long_an_alert_has_been_firing(people: People, no_defaults: None) -> None:
    alert = make_alert(make_rule(), started_at=timezone.now() - timedelta(minutes=12, seconds=20))
    page = people.viewer.get(f"/alerts/{alert.id}/").content.decode()
    # The page counts on from 740 s (alert.js), so it stays current while open.
    found = re.search(r'Firing for <strong data-open-s="(\d+)">12 min</strong>\.', page)
    assert found is not None and 740 <= int(found.group(1)) < 750


def test_an_acknowledged_alert_is_still_firing(people: People, no_defaults: None) -> None:
    alert = make_alert(make_rule(), started_at=timezone.now() - timedelta(hours=3, minutes=5))
    lifecycle.acknowledge(alert, people.responder.user)
    assert "3 h 5 min</strong>, acknowledged." in state_of(people, alert)


def test_a_resolved_alert_says_how_long_it_lasted(people: People, no_defaults: None) -> None:
    started = timezone.now() - timedelta(days=2)
    alert = make_alert(make_rule(), started_at=started)
    lifecycle.resolve(alert)
    Alert.objects.filter(id=alert.id).update(resolved_at=started + timedelta(minutes=40))
    state = state_of(people, alert)
    assert "Resolved after <strong>40 min</strong>" in state and "data-open-s" not in state


def test_durations_read_to_the_minute() -> None:
    assert duration(59) == "less than a minute"
    assert duration(60 * 59 + 59) == "59 min"
    assert duration(3600) == "1 h"
    assert duration(3600 * 26 + 60 * 7) == "1 d 2 h"


def test_it_labels_the_value_now_and_the_value_it_fired_with(people: People, no_defaults: None) -> None:
    rule = make_rule()
    alert = lifecycle.fire(rule, lifecycle.Observation("function:1", "payments", "charge", 0.228))
    assert alert is not None
    Alert.objects.filter(id=alert.id).update(value=0.26)  # a later evaluation round
    state = state_of(people, alert)
    assert '<div class="label">Value now</div>' in state
    assert '<div class="value" id="value">0.26</div>' in state
    assert (
        'at the latest evaluation; when it fired: <strong id="fired-value">0.228</strong>; fires at &gt; 0.2' in state
    )
    assert '<span class="muted">When it fired:</span> error_rate is 0.228 (&gt; 0.2) on payments/charge' in state


def test_a_resolved_alert_shows_its_last_value_while_open(people: People, no_defaults: None) -> None:
    alert = lifecycle.fire(make_rule(), lifecycle.Observation("function:1", "payments", "charge", 0.5))
    assert alert is not None
    lifecycle.resolve(alert, value=0.05)
    state = state_of(people, alert)
    assert '<div class="label">Last value while open</div>' in state and "Value now" not in state


def test_an_acknowledgement_with_a_reminder_says_when_it_lapses(people: People, no_defaults: None) -> None:
    alert = make_alert(make_rule())
    lifecycle.acknowledge(alert, people.responder.user, "on it", 60)
    lapses = Alert.objects.get(id=alert.id).ack_expires_at
    assert lapses is not None
    state = state_of(people, alert)
    assert f'acknowledged by bob; reminds again <time datetime="{lapses.isoformat()}">' in state
    assert "if still firing" in state


def test_an_alert_whose_rule_was_deleted_still_reads(people: People, no_defaults: None) -> None:
    rule = make_rule(metric="call_volume", op="<", threshold=50)
    alert = lifecycle.fire(rule, lifecycle.Observation("function:1", "payments", "charge", 3.0))
    assert alert is not None
    lifecycle.resolve(alert)
    other = make_alert(make_rule(name="charge slow", metric="p95_ms", threshold=2000), state="resolved")
    rule.delete()  # its alerts outlive it, resolved
    page = people.viewer.get(f"/alerts/{other.id}/").content.decode()
    row = page.split(f'data-related="{alert.id}"')[1].split("</tr>")[0]
    assert "a deleted rule" in row
    page = people.viewer.get(f"/alerts/{alert.id}/").content.decode()
    assert '<h1>(deleted rule) <span class="muted">on payments / charge</span></h1>' in page
    assert 'when it fired: <strong id="fired-value">3</strong>; threshold 50' in page
    assert "the window its value was added up over: nothing to chart" in page
