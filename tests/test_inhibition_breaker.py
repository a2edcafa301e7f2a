"""Built-in inhibition: a breaker open on a function holds back the notices of that function's
error, latency and availability alerts (they still fire, join the breaker's incident and show
why, but its notices leave them out), not another function's; when the breaker alert
resolves, an alert still firing is named in its incident's next notice, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from alerts import inhibition
from alerts.evaluate import evaluate_all
from alerts.models import Alert, Channel, Delivery, Incident, Rule
from monitoring.models import Service
from tests.alert_fixtures import People, failures, make_rule, successes
from tests.conftest import Reporter
from tests.receivers import HttpReceiver


@pytest.fixture(autouse=True)
def notices_at_once(settings: Settings) -> None:
    """No group wait or interval, resolved in the round that clears it: these tests are about
    which alerts a notice names, not when it goes."""
    settings.MONITOR_GROUP_WAIT_S = 0
    settings.MONITOR_GROUP_INTERVAL_S = 0
    settings.MONITOR_RESOLVE_AFTER_S = 0


def seconds_ago(seconds: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat()


@pytest.fixture
def hook(http_receiver: HttpReceiver, no_defaults: None) -> Channel:
    url = http_receiver.url("/hook")
    return Channel.objects.create(name="hook", kind="webhook", config={"url": url, "secret": "a-long-enough-secret"})


@pytest.fixture
def rules(hook: Channel) -> dict[str, Rule]:
    return {
        "breaker": make_rule(hook, name="Breaker open", metric="breaker_open_s", threshold=0, min_calls=0),
        "errors": make_rule(hook, name="payments errors", severity="high"),
    }


def round_sent(capture: DjangoCaptureOnCommitCallbacks) -> None:
    """One evaluation round with its deliveries sent (tasks run in process, after commit)."""
    with capture(execute=True):
        evaluate_all()


def heard(receiver: HttpReceiver) -> list[tuple[str, int]]:
    """(event, alert id) for each alert each notice names (a notice is per incident)."""
    return [(r.json()["event"], a["id"]) for r in receiver.items for a in r.json()["incident"]["alerts"]]


@pytest.fixture
def breaker_on_charge(
    rules: dict[str, Rule],
    reporter: Reporter,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> dict[str, Alert]:
    """charge: breaker open and errors; refund: errors only. One round evaluated."""
    breakers = [{"function": "charge", "state": "open", "ts": seconds_ago(30)}]
    reporter.post({"calls": failures(10, "charge") + failures(10, "refund"), "breakers": breakers})
    round_sent(django_capture_on_commit_callbacks)
    return {
        "breaker": Alert.objects.get(rule=rules["breaker"]),
        "charge": Alert.objects.get(rule=rules["errors"], subject="charge"),
        "refund": Alert.objects.get(rule=rules["errors"], subject="refund"),
    }


def test_it_holds_back_the_same_functions_error_alert_only(
    breaker_on_charge: dict[str, Alert], http_receiver: HttpReceiver, people: People
) -> None:
    breaker, charge, refund = breaker_on_charge["breaker"], breaker_on_charge["charge"], breaker_on_charge["refund"]
    assert sorted(heard(http_receiver)) == sorted([("firing", breaker.id), ("firing", refund.id)])
    assert charge.state == "firing" and charge.inhibited_by == breaker
    # One incident on payments/charge: recorded on it, not notified.
    assert charge.incident_id == breaker.incident_id != refund.incident_id
    lines = [(e.action, e.detail) for e in charge.events.all()]
    assert ("not notified", "firing: inhibited by Breaker open on payments/charge") in lines
    incident_lines = [(e.action, e.detail) for e in Incident.objects.get(id=charge.incident_id).events.all()]
    assert ("notification dropped", "updated: nothing new to tell") in incident_lines
    assert refund.inhibited_by is None and refund.deliveries.get().event == "firing"

    shown = people.viewer.get(f"/api/v1/alerts/{charge.id}").json()
    assert shown["state"] == "firing"
    assert shown["inhibited_by"] | {"since": None} == {
        "id": breaker.id,
        "rule": "Breaker open",
        "service": "payments",
        "subject": "charge",
        "state": "firing",
        "reason": "Breaker open on payments/charge",
        "since": None,
    }
    listed = {a["id"]: a["inhibited_by"] for a in people.viewer.get("/api/v1/alerts").json()["items"]}
    assert listed[charge.id]["id"] == breaker.id and listed[refund.id] is None

    page = people.viewer.get(f"/alerts/{charge.id}/").content.decode()
    assert 'id="inhibited"' in page and "Inhibited by" in page and "Breaker open on payments/charge" in page
    assert f'href="/alerts/{breaker.id}/"' in page
    assert 'id="inhibited"' not in people.viewer.get(f"/alerts/{refund.id}/").content.decode()
    listing = people.viewer.get("/alerts/").content.decode()
    assert listing.count('<span class="badge inhibited">') == 1


def test_it_holds_reminders_while_inhibited(
    breaker_on_charge: dict[str, Alert],
    http_receiver: HttpReceiver,
    reporter: Reporter,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    breaker, charge = breaker_on_charge["breaker"], breaker_on_charge["charge"]
    # Its cooldown (an hour) is over: a reminder is due.
    Incident.objects.filter(id=charge.incident_id).update(next_reminder_at=timezone.now() - timedelta(seconds=1))
    Delivery.objects.update(created=F("created") - timedelta(minutes=61))
    reporter.post({"breakers": [{"function": "charge", "state": "open", "ts": seconds_ago(1)}]})
    before = len(http_receiver.items)
    round_sent(django_capture_on_commit_callbacks)
    assert heard(http_receiver)[before:] == [("reminder", breaker.id)]
    details = list(charge.events.filter(action="not notified").values_list("detail", flat=True))
    assert details[-1] == "reminder: inhibited by Breaker open on payments/charge"


def test_it_notifies_a_still_firing_alert_once_its_inhibitor_resolves(
    breaker_on_charge: dict[str, Alert],
    http_receiver: HttpReceiver,
    reporter: Reporter,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    breaker, charge = breaker_on_charge["breaker"], breaker_on_charge["charge"]
    before = len(http_receiver.items)
    reporter.post({"breakers": [{"function": "charge", "state": "closed", "ts": seconds_ago(1)}]})
    round_sent(django_capture_on_commit_callbacks)
    round_sent(django_capture_on_commit_callbacks)  # a second round sends nothing more
    # The incident's update: the breaker resolved, the error rate fires (no longer explained).
    assert heard(http_receiver)[before:] == [("updated", breaker.id), ("updated", charge.id)]
    body = http_receiver.items[-1].json()
    assert [(a["id"], a["state"]) for a in body["incident"]["alerts"]] == [
        (breaker.id, "resolved"),
        (charge.id, "firing"),
    ]
    charge.refresh_from_db()
    assert charge.state == "firing" and charge.inhibited_by is None
    ended = charge.events.get(action="inhibition ended")
    assert ended.detail == "Breaker open on payments/charge is resolved"


def test_it_sends_nothing_for_an_alert_that_resolved_while_inhibited(
    breaker_on_charge: dict[str, Alert],
    http_receiver: HttpReceiver,
    reporter: Reporter,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    breaker, charge = breaker_on_charge["breaker"], breaker_on_charge["charge"]
    before = len(http_receiver.items)
    breakers = [{"function": "charge", "state": "closed", "ts": seconds_ago(1)}]
    reporter.post({"calls": successes(200, "charge"), "breakers": breakers})
    round_sent(django_capture_on_commit_callbacks)
    assert heard(http_receiver)[before:] == [("resolved", breaker.id)]
    charge.refresh_from_db()
    assert charge.state == "resolved" and charge.id not in {i for _, i in heard(http_receiver)}
    # Resolved, it still says what held it back.
    assert charge.inhibited_by == breaker


def test_it_marks_an_alert_already_firing_when_the_breaker_opens(
    rules: dict[str, Rule],
    http_receiver: HttpReceiver,
    reporter: Reporter,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    reporter.post({"calls": failures(10, "charge")})
    round_sent(django_capture_on_commit_callbacks)
    charge = Alert.objects.get(rule=rules["errors"])
    assert heard(http_receiver) == [("firing", charge.id)]
    reporter.post({"breakers": [{"function": "charge", "state": "open", "ts": seconds_ago(5)}]})
    round_sent(django_capture_on_commit_callbacks)
    breaker = Alert.objects.get(rule=rules["breaker"])
    charge.refresh_from_db()
    assert charge.inhibited_by == breaker
    # The breaker joined the incident: its update names the breaker, not the explained alert.
    assert heard(http_receiver)[1:] == [("updated", breaker.id)]
    assert charge.events.get(action="inhibited").detail.startswith("by Breaker open on payments/charge")
    # Already notified: the breaker closing owes it no second firing notice.
    reporter.post({"breakers": [{"function": "charge", "state": "closed", "ts": seconds_ago(1)}]})
    round_sent(django_capture_on_commit_callbacks)
    assert [event for event, i in heard(http_receiver) if i == charge.id] == ["firing"]
    charge.refresh_from_db()
    assert charge.inhibited_by is None


def test_it_does_not_hold_other_metrics_on_the_function(
    hook: Channel,
    http_receiver: HttpReceiver,
    reporter: Reporter,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    make_rule(hook, name="Breaker open", metric="breaker_open_s", threshold=0, min_calls=0, severity="high")
    flips = make_rule(hook, name="Flapping", metric="breaker_flips", op=">=", threshold=1, min_calls=0)
    reporter.post({"breakers": [{"function": "charge", "state": "closed", "ts": seconds_ago(40)}]})
    reporter.post({"breakers": [{"function": "charge", "state": "open", "ts": seconds_ago(30)}]})
    round_sent(django_capture_on_commit_callbacks)
    flapping = Alert.objects.get(rule=flips)
    assert flapping.inhibited_by is None and flapping.id in {i for _, i in heard(http_receiver)}


def test_the_rounds_decision_takes_the_same_few_queries_for_any_number_of_alerts(rules: dict[str, Rule]) -> None:
    checkout, db = Service.objects.create(name="checkout"), Service.objects.create(name="payments-db")
    checkout.depends_on.add(db)

    def seeded(n: int, offset: int) -> list[Alert]:
        made = []
        for i in range(offset, offset + n):
            fingerprint = f"function:{i}"
            common = {"fingerprint": fingerprint, "service": "checkout", "subject": f"f{i}", "threshold": 0}
            Alert.objects.create(rule=rules["breaker"], metric="breaker_open_s", severity="critical", **common)
            made.append(Alert.objects.create(rule=rules["errors"], metric="error_rate", severity="high", **common))
        return made

    counts = []
    for n, offset in ((3, 0), (60, 100)):
        alerts = seeded(n, offset)
        with CaptureQueriesContext(connection) as queries:
            decided = inhibition.decide(alerts)
        assert len(decided) == n and all(decided[a.id].fingerprint == a.fingerprint for a in alerts)
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 4
