"""Disabling or deleting a rule resolves its open alerts, from the API and from the pages,
with a timeline line saying why and a resolved notice to the channels that heard it fire."""

from __future__ import annotations

import pytest

from alerts.models import Alert, Channel, Delivery, Rule
from monitoring.models import AuditEntry
from tests.alert_fixtures import People, make_alert, make_rule

# Not about grouping or hysteresis: notices go without a group wait, clear conditions resolve at once.
pytestmark = pytest.mark.usefixtures("notify_at_once")


def open_alerts(rule: Rule, log_channel: Channel) -> tuple[Alert, Alert, Alert]:
    firing = make_alert(rule)
    acked = make_alert(rule, fingerprint="function:2", subject="refund", state="acknowledged")
    done = make_alert(rule, fingerprint="function:3", subject="payout", state="resolved")
    Delivery.objects.create(alert=firing, incident=firing.incident, channel=log_channel, event="firing", state="sent")
    return firing, acked, done


def resolved_lines(alert: Alert) -> list[str]:
    return list(alert.events.filter(action="resolved").values_list("detail", flat=True))


@pytest.mark.parametrize(
    "disable",
    [
        lambda people, rule: people.admin.patch(f"/api/v1/rules/{rule.id}", {"enabled": False}),
        lambda people, rule: people.admin.client.post(f"/rules/{rule.id}/disable/"),
    ],
    ids=["api", "page"],
)
def test_disabling_resolves_open_alerts(people: People, log_channel: Channel, disable: object) -> None:
    rule = make_rule(log_channel)
    firing, acked, done = open_alerts(rule, log_channel)
    assert disable(people, rule).status_code in (200, 302)
    for alert in (firing, acked):
        alert.refresh_from_db()
        assert alert.state == "resolved" and alert.resolved_at is not None
        assert resolved_lines(alert) == ["the rule “payments errors” was disabled by alice"]
        assert alert.events.get(action="resolved").actor == people.admin.user
    assert resolved_lines(done) == []
    # The channel that heard it fire hears it resolve.
    notice = Delivery.objects.get(alert=firing, event="resolved")
    assert notice.channel == log_channel and notice.message["event"] == "resolved"
    assert AuditEntry.objects.get(kind="rule", object_id=str(rule.id)).action == "disabled"


@pytest.mark.parametrize(
    "delete",
    [
        lambda people, rule: people.admin.delete(f"/api/v1/rules/{rule.id}"),
        lambda people, rule: people.admin.client.post(f"/rules/{rule.id}/delete/"),
    ],
    ids=["api", "page"],
)
def test_deleting_resolves_open_alerts_and_keeps_them(people: People, log_channel: Channel, delete: object) -> None:
    rule = make_rule(log_channel)
    firing, acked, _ = open_alerts(rule, log_channel)
    assert delete(people, rule).status_code in (204, 302)
    assert not Rule.objects.filter(id=rule.id).exists()
    for alert in (firing, acked):
        alert.refresh_from_db()
        assert alert.state == "resolved" and alert.rule is None
        assert resolved_lines(alert) == ["the rule “payments errors” was deleted by alice"]
    assert Delivery.objects.filter(alert=firing, event="resolved").exists()
    entry = AuditEntry.objects.get(kind="rule", object_id=str(rule.id))
    assert entry.action == "deleted" and entry.before["name"] == "payments errors"
    # The alert's own page and the API still show it, from a deleted rule.
    assert "(deleted rule)" in people.viewer.client.get(f"/alerts/{firing.id}/").content.decode()
    assert people.viewer.get(f"/api/v1/alerts/{firing.id}").json()["rule"] is None


def test_a_disabled_rule_fires_no_more(people: People, log_channel: Channel) -> None:
    from alerts.evaluate import evaluate_all

    rule = make_rule(log_channel)
    people.admin.patch(f"/api/v1/rules/{rule.id}", {"enabled": False})
    evaluate_all()
    assert not Alert.objects.filter(rule=rule, state="firing").exists()


def test_an_edit_that_keeps_it_enabled_resolves_nothing(people: People, log_channel: Channel) -> None:
    rule = make_rule(log_channel)
    firing, _, _ = open_alerts(rule, log_channel)
    assert people.admin.patch(f"/api/v1/rules/{rule.id}", {"threshold": 0.3}).status_code == 200
    firing.refresh_from_db()
    assert firing.state == "firing"
    entry = AuditEntry.objects.get(kind="rule", object_id=str(rule.id))
    assert entry.action == "updated" and entry.before == {"threshold": 0.2} and entry.after == {"threshold": 0.3}
