"""Every kind of notice names every alert of its incident: Slack and webhook at a real HTTP
receiver, e-mail at a real SMTP server, the log line; and group_by "service" groups the
alerts of a whole service."""

from __future__ import annotations

import logging

import pytest
from pytest_django import DjangoCaptureOnCommitCallbacks

from alerts import lifecycle, outbox
from alerts.delivery import send
from alerts.models import Alert, Channel, Delivery, Incident
from tests.alert_fixtures import make_alert, make_rule
from tests.receivers import HttpReceiver, SmtpReceiver


def incident_of(*channels: Channel) -> Incident:
    errors = make_alert(make_rule(*channels))
    # Not a breaker-open alert: that one would inhibit the error rate (left out of the notice).
    flapping = make_rule(*channels, name="breaker flapping", metric="breaker_flips", severity="high")
    make_alert(flapping, flaps=2, value=40.0)
    return errors.incident


def test_slack_and_webhook_name_both_alerts(
    http_receiver: HttpReceiver, no_defaults: None, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    slack = Channel.objects.create(name="slack", kind="slack", config={"url": http_receiver.url("/slack")})
    hook = Channel.objects.create(
        name="hook", kind="webhook", config={"url": http_receiver.url("/hook"), "secret": "a-long-enough-secret"}
    )
    incident = incident_of(slack, hook)
    with django_capture_on_commit_callbacks(execute=True):
        outbox.notify(incident, "firing")
    by_path = {r.path: r.json() for r in http_receiver.wait_for(2)}
    attachment = by_path["/slack"]["attachments"][0]
    assert attachment["title"] == "Firing: [critical] 2 alerts on payments/charge"
    assert "payments errors (critical, firing)" in attachment["text"]
    assert "breaker flapping (high, firing, flapped 2 times)" in attachment["text"]
    alerts = by_path["/hook"]["incident"]["alerts"]
    assert [(a["rule"], a["flaps"]) for a in alerts] == [("payments errors", 0), ("breaker flapping", 2)]


def test_e_mail_names_both_alerts(smtp_server: SmtpReceiver, no_defaults: None) -> None:
    mail = Channel.objects.create(name="mail", kind="email", config={"to": ["oncall@example.org"]})
    incident = incident_of(mail)
    outbox.notify(incident, "firing")
    assert send(Delivery.objects.get().id) == "sent"
    message = smtp_server.wait_for(1)[0]
    assert "2 alerts on payments/charge" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert "payments errors (critical, firing)" in text and "breaker flapping (high, firing" in text
    assert f"/incidents/{incident.id}/" in text and "Open the incident" in text


def test_the_log_line_names_both_alerts(log_channel: Channel, caplog: pytest.LogCaptureFixture) -> None:
    incident = incident_of(log_channel)
    with caplog.at_level(logging.INFO, logger="alerts.notifications"):
        outbox.notify(incident, "firing")
        send(Delivery.objects.get().id)
    [record] = caplog.records
    assert "payments errors" in record.getMessage() and "breaker flapping" in record.getMessage()


def test_group_by_service_puts_a_service_s_alerts_in_one_incident(log_channel: Channel) -> None:
    rule = make_rule(log_channel, group_by="service")
    for i, subject in enumerate(["charge", "refund"], start=1):
        lifecycle.fire(rule, lifecycle.Observation(f"function:{i}", "payments", subject, 0.5))
    incident = Incident.objects.get()
    assert incident.name == "payments" and incident.alerts.count() == 2
    other = make_rule(log_channel, name="per subject")
    lifecycle.fire(other, lifecycle.Observation("function:1", "payments", "charge", 0.5))
    assert Incident.objects.count() == 2  # the other rule groups by subject: its own incident
    assert Alert.objects.filter(incident=incident).count() == 2
