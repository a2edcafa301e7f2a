"""Declared inhibition: while a service checkout depends on (payments-db) has an open critical
alert, checkout's alerts fire and show why but are not notified; a non-critical one does not
hold them back. An incident whose alerts are all inhibited sends nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from alerts.evaluate import evaluate_all
from alerts.models import Alert, Channel, Rule
from monitoring.models import IngestToken, Service
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
def services(db: None) -> dict[str, Service]:
    found = {name: Service.objects.create(name=name) for name in ("checkout", "payments-db")}
    found["checkout"].depends_on.add(found["payments-db"])
    return found


def reporter_for(service: Service) -> Reporter:
    return Reporter(Client(), IngestToken.issue(service=service)[1])


def round_sent(capture: DjangoCaptureOnCommitCallbacks) -> None:
    with capture(execute=True):
        evaluate_all()


def heard(receiver: HttpReceiver) -> list[tuple[str, int]]:
    """(event, alert id) for each alert each notice names (a notice is per incident)."""
    return [(r.json()["event"], a["id"]) for r in receiver.items for a in r.json()["incident"]["alerts"]]


def checkout_errors_while_db_breaker_is_open(
    services: dict[str, Service], capture: DjangoCaptureOnCommitCallbacks
) -> None:
    reporter_for(services["payments-db"]).post(
        {"breakers": [{"function": "query", "state": "open", "ts": seconds_ago(30)}]}
    )
    reporter_for(services["checkout"]).post({"calls": failures(10, "pay")})
    round_sent(capture)


def test_a_dependencys_critical_alert_inhibits_the_dependents(
    hook: Channel,
    services: dict[str, Service],
    http_receiver: HttpReceiver,
    people: People,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    breaker = make_rule(hook, name="Breaker open", metric="breaker_open_s", threshold=0, min_calls=0, service="*")
    errors = make_rule(hook, name="Errors", severity="high", service="*")
    checkout_errors_while_db_breaker_is_open(services, django_capture_on_commit_callbacks)
    db_alert, pay = Alert.objects.get(rule=breaker), Alert.objects.get(rule=errors)
    assert (db_alert.service, pay.service) == ("payments-db", "checkout")
    assert heard(http_receiver) == [("firing", db_alert.id)]
    assert pay.state == "firing" and pay.inhibited_by == db_alert and not pay.deliveries.exists()
    reason = "payments-db / Breaker open on query (checkout depends on payments-db)"
    assert pay.events.get(action="not notified").detail == f"firing: inhibited by {reason}"

    assert people.viewer.get(f"/api/v1/alerts/{pay.id}").json()["inhibited_by"]["reason"] == reason
    alert_page = people.viewer.get(f"/alerts/{pay.id}/").content.decode()
    assert "Inhibited by" in alert_page and reason in alert_page
    service_page = people.viewer.get(f"/services/{services['checkout'].id}/").content.decode()
    assert f'Not notified: inhibited by <a href="/alerts/{db_alert.id}/">{reason}</a>' in service_page
    assert f'<a href="/services/{services["payments-db"].id}/">payments-db</a>' in service_page
    assert f'<a href="/alerts/{db_alert.id}/">Breaker open on query</a>' in service_page
    db_page = people.viewer.get(f"/services/{services['payments-db'].id}/").content.decode()
    assert 'id="dependents"' in db_page and "checkout</a>" in db_page

    # The dependency recovers while checkout still fails: checkout is notified now, once.
    reporter_for(services["payments-db"]).post(
        {"breakers": [{"function": "query", "state": "closed", "ts": seconds_ago(1)}]}
    )
    round_sent(django_capture_on_commit_callbacks)
    round_sent(django_capture_on_commit_callbacks)
    assert sorted(heard(http_receiver)[1:]) == sorted([("resolved", db_alert.id), ("firing", pay.id)])
    assert len(http_receiver.items) == 3


def test_a_non_critical_dependency_alert_does_not_inhibit(
    hook: Channel,
    services: dict[str, Service],
    http_receiver: HttpReceiver,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    breaker = make_rule(
        hook, name="Breaker open", metric="breaker_open_s", threshold=0, min_calls=0, service="*", severity="high"
    )
    errors = make_rule(hook, name="Errors", severity="high", service="*")
    checkout_errors_while_db_breaker_is_open(services, django_capture_on_commit_callbacks)
    pay = Alert.objects.get(rule=errors)
    assert pay.inhibited_by is None
    assert sorted(heard(http_receiver)) == sorted([("firing", Alert.objects.get(rule=breaker).id), ("firing", pay.id)])


def test_it_does_not_inhibit_the_dependency_itself_nor_unrelated_services(
    hook: Channel,
    services: dict[str, Service],
    http_receiver: HttpReceiver,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    other = Service.objects.create(name="search")
    critical: Rule = make_rule(hook, name="Errors", service="*")  # critical
    reporter_for(services["checkout"]).post({"calls": failures(10, "pay")})
    reporter_for(other).post({"calls": failures(10, "find")})
    reporter_for(services["payments-db"]).post({"calls": failures(10, "query") + successes(1, "query")})
    round_sent(django_capture_on_commit_callbacks)
    by_service = {a.service: a for a in Alert.objects.filter(rule=critical)}
    assert by_service["checkout"].inhibited_by == by_service["payments-db"]
    assert by_service["payments-db"].inhibited_by is None and by_service["search"].inhibited_by is None
    assert sorted(i for _, i in heard(http_receiver)) == sorted([by_service["payments-db"].id, by_service["search"].id])


def test_removing_the_dependency_releases_the_dependents_alert(
    hook: Channel,
    services: dict[str, Service],
    http_receiver: HttpReceiver,
    people: People,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    make_rule(hook, name="Breaker open", metric="breaker_open_s", threshold=0, min_calls=0, service="*")
    errors = make_rule(hook, name="Errors", severity="high", service="*")
    checkout_errors_while_db_breaker_is_open(services, django_capture_on_commit_callbacks)
    r = people.admin.patch(f"/api/v1/services/{services['checkout'].id}", {"depends_on": []})
    assert r.status_code == 200
    round_sent(django_capture_on_commit_callbacks)
    pay = Alert.objects.get(rule=errors)
    assert pay.inhibited_by is None
    assert pay.events.get(action="inhibition ended").detail.endswith("no longer applies")
    assert [e for e, i in heard(http_receiver) if i == pay.id] == ["firing"]
