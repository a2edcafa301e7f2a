"""The /rules/ pages: who may open them, the list, the form (validated like the API), templates."""

from __future__ import annotations

import pytest
from django.test import Client

from alerts.models import Channel, Rule
from monitoring.models import AuditEntry
from tests.alert_fixtures import People, make_alert, make_rule

FORM = {
    "name": "checkout errors",
    "metric": "error_rate",
    "op": ">",
    "threshold": "0.1",
    "resolve_threshold": "",
    "window_minutes": "5",
    "min_calls": "10",
    "for_seconds": "0",
    "severity": "high",
    "service": "checkout",
    "subject": "*",
    "cooldown_minutes": "60",
    "enabled": "on",
}


@pytest.mark.parametrize("path", ["/rules/", "/rules/new/", "/rules/new/?template=p95-latency"])
def test_it_sends_anonymous_visitors_to_log_in(db: None, path: str) -> None:
    r = Client().get(path)
    assert r.status_code == 302 and r["Location"].startswith("/login/")


@pytest.mark.parametrize("who", ["viewer", "responder"])
def test_it_refuses_viewers_and_responders(people: People, who: str) -> None:
    rule = make_rule()
    person = getattr(people, who)
    for path in ("/rules/", "/rules/new/", f"/rules/{rule.id}/"):
        r = person.client.get(path)
        assert r.status_code == 403
        assert b"admin role" in r.content
    r = person.client.post("/rules/new/", FORM)
    assert r.status_code == 403 and not Rule.objects.filter(name="checkout errors").exists()
    assert person.client.post(f"/rules/{rule.id}/delete/").status_code == 403
    assert person.client.post(f"/rules/{rule.id}/disable/").status_code == 403
    assert person.client.post("/rules/preview/", FORM).status_code == 403
    assert Rule.objects.get(id=rule.id).enabled


def test_it_lists_rules_with_scope_channels_and_firing_count(people: People, log_channel: Channel) -> None:
    rule = make_rule(log_channel, name="payments errors", service="pay*", subject="charge")
    make_alert(rule)
    make_alert(rule, fingerprint="function:2", state="resolved")
    make_rule(name="quiet one", enabled=False)
    page = people.admin.client.get("/rules/").content.decode()
    row = page[page.index(f'data-rule="{rule.id}"') :].split("</tr>")[0]
    assert "payments errors" in row and "<code>pay*</code> / <code>charge</code>" in row
    assert "critical" in row and "log" in row and ">on<" in row
    assert 'class="firing-count">1</a>' in row
    assert "quiet one" in page and ">off<" in page
    assert "2 in all" in page


def test_it_says_what_to_do_when_there_is_no_rule(people: People, no_defaults: None) -> None:
    page = people.admin.client.get("/rules/").content.decode()
    assert 'id="rules-empty"' in page and "No rules yet" in page
    assert "/rules/new/?template=error-rate" in page


def test_it_pages_a_long_list(people: People, no_defaults: None) -> None:
    for i in range(55):
        make_rule(name=f"rule {i:02d}")
    first = people.admin.client.get("/rules/").content.decode()
    assert "rule 49" in first and "rule 50" not in first and "?offset=50" in first
    second = people.admin.client.get("/rules/?offset=50").content.decode()
    assert "rule 54" in second and "rule 49" not in second


def test_it_creates_a_rule_from_the_form_and_audits_it(people: People, log_channel: Channel) -> None:
    r = people.admin.client.post("/rules/new/", {**FORM, "channels": [str(log_channel.id)]})
    assert r.status_code == 302 and r["Location"] == "/rules/"
    rule = Rule.objects.get(name="checkout errors")
    assert rule.threshold == 0.1 and rule.min_calls == 10 and rule.resolve_threshold is None
    assert list(rule.channels.all()) == [log_channel]
    entry = AuditEntry.objects.get(kind="rule", object_id=str(rule.id))
    assert entry.action == "created" and entry.actor == people.admin.user
    assert entry.after["threshold"] == 0.1 and entry.after["channels"] == [log_channel.id]
    assert "Rule “checkout errors” created." in people.admin.client.get("/rules/").content.decode()


def test_it_names_the_bad_field_and_keeps_what_was_typed(people: People, no_defaults: None) -> None:
    r = people.admin.client.post("/rules/new/", {**FORM, "threshold": "lots", "window_minutes": "0"})
    assert r.status_code == 422
    page = r.content.decode()
    assert '<p class="field-error" id="threshold-error">must be a number</p>' in page
    assert 'id="window_minutes-error">Input should be greater than or equal to 1</p>' in page
    assert 'aria-invalid="true" aria-describedby="threshold-error"' in page
    assert 'value="checkout errors"' in page and 'value="lots"' in page
    assert not Rule.objects.exists()


def test_it_refuses_a_channel_that_is_gone_like_the_api(people: People, no_defaults: None) -> None:
    r = people.admin.client.post("/rules/new/", {**FORM, "channels": ["999"]})
    assert r.status_code == 422
    assert 'id="channels-error">no channel with id 999</p>' in r.content.decode()
    assert not Rule.objects.exists()


def test_a_template_prefills_the_form(people: People, no_defaults: None) -> None:
    page = people.admin.client.get("/rules/new/?template=breaker-open").content.decode()
    assert "New rule: Breaker open longer than 5 minutes" in page
    assert '<option value="breaker_open_s" selected>' in page
    assert 'name="threshold" type="number" step="any"' in page and 'value="300"' in page
    assert '<option value="critical" selected>' in page


def test_it_edits_a_rule_and_shows_its_history(people: People, log_channel: Channel) -> None:
    people.admin.client.post("/rules/new/", FORM)
    rule = Rule.objects.get(name="checkout errors")
    r = people.admin.client.post(f"/rules/{rule.id}/", {**FORM, "threshold": "0.3"})
    assert r.status_code == 302
    assert Rule.objects.get(id=rule.id).threshold == 0.3
    page = people.admin.client.get(f"/rules/{rule.id}/").content.decode()
    history = page[page.index('id="rule-history"') :]
    assert "alice</strong> updated" in history and "<code>threshold</code> 0.1 → 0.3" in history
    assert "alice</strong> created" in history


def test_it_disables_enables_and_deletes_from_the_list(people: People, no_defaults: None) -> None:
    rule = make_rule()
    assert people.admin.client.post(f"/rules/{rule.id}/disable/").status_code == 302
    assert not Rule.objects.get(id=rule.id).enabled
    assert people.admin.client.post(f"/rules/{rule.id}/enable/").status_code == 302
    assert Rule.objects.get(id=rule.id).enabled
    actions = list(AuditEntry.objects.filter(kind="rule").order_by("at", "id").values_list("action", flat=True))
    assert actions == ["disabled", "enabled"]
    assert people.admin.client.get(f"/rules/{rule.id}/disable/").status_code == 405
    assert people.admin.client.post(f"/rules/{rule.id}/delete/").status_code == 302
    assert not Rule.objects.filter(id=rule.id).exists()
    assert AuditEntry.objects.filter(kind="rule", action="deleted", object_id=str(rule.id)).exists()


def test_the_preview_fragment_names_bad_fields(people: People, no_defaults: None) -> None:
    r = people.admin.client.post("/rules/preview/", {**FORM, "metric": "vibes"})
    assert r.status_code == 200
    assert "<strong>metric</strong>:" in r.content.decode()
