from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from alerts import delivery, outbox
from alerts.models import Alert, Channel, Delivery, Event
from alerts.transports.webhook import verify_signature
from tests.alert_fixtures import People, make_alert, make_rule
from tests.receivers import HttpReceiver, SmtpReceiver

SECRET = "s3cret-s3cret-s3cret"


@pytest.fixture
def hook(http_receiver: HttpReceiver, no_defaults: None, settings: Settings) -> Channel:
    settings.MONITOR_DELIVERY_SCHEDULE_S = [0.0, 0.0, 0.0]
    return Channel.objects.create(
        name="ops hook", kind="webhook", config={"url": http_receiver.url(), "secret": SECRET}
    )


def firing(channel: Channel, capture: DjangoCaptureOnCommitCallbacks) -> Alert:
    alert = make_alert(make_rule(channel))
    with capture(execute=True):
        outbox.notify(alert.incident, "firing")
    return alert


def actions(alert: Alert) -> list[str]:
    return list(Event.objects.filter(alert=alert).values_list("action", flat=True))


def test_it_retries_a_500_and_succeeds_once(
    hook: Channel, http_receiver: HttpReceiver, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    http_receiver.respond_with([500, 200])
    alert = firing(hook, django_capture_on_commit_callbacks)
    sent = Delivery.objects.get()
    assert (sent.state, sent.attempts, sent.last_error) == ("pending", 1, "127.0.0.1 answered 500")
    assert delivery.sweep() == 1
    sent.refresh_from_db()
    assert (sent.state, sent.attempts, sent.last_error) == ("sent", 2, "")
    keys = {r.headers["Idempotency-Key"] for r in http_receiver.requests}
    assert keys == {str(sent.idempotency_key)}
    assert len(http_receiver.requests) == 2
    assert actions(alert) == ["notification failed", "notified"]
    assert delivery.sweep() == 0


def test_it_dead_letters_after_the_last_attempt(
    hook: Channel,
    http_receiver: HttpReceiver,
    people: People,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    http_receiver.respond_with([500])
    alert = firing(hook, django_capture_on_commit_callbacks)
    while delivery.sweep():
        pass
    dead = Delivery.objects.get()
    assert (dead.state, dead.attempts, dead.last_error) == ("dead", 4, "127.0.0.1 answered 500")
    assert len(http_receiver.requests) == 4
    assert actions(alert)[-2:] == ["notification failed", "dead-lettered"]
    listed = people.viewer.get("/api/v1/deliveries", state="dead").json()
    assert listed["count"] == 1 and listed["items"][0]["last_error"] == "127.0.0.1 answered 500"

    http_receiver.respond_with([200])
    assert people.viewer.post(f"/api/v1/deliveries/{dead.id}/retry").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        r = people.responder.post(f"/api/v1/deliveries/{dead.id}/retry")
    assert r.status_code == 202, r.content
    dead.refresh_from_db()
    assert dead.state == "sent"
    assert people.responder.post(f"/api/v1/deliveries/{dead.id}/retry").status_code == 409
    retried = Event.objects.get(alert=alert, action="delivery retried")
    assert retried.actor == people.responder.user


def test_it_never_retries_other_4xx(
    hook: Channel, http_receiver: HttpReceiver, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    http_receiver.respond_with([400])
    firing(hook, django_capture_on_commit_callbacks)
    assert Delivery.objects.get().state == "dead"
    assert delivery.sweep() == 0
    assert len(http_receiver.requests) == 1


def test_it_honours_retry_after_on_429(
    hook: Channel, http_receiver: HttpReceiver, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    http_receiver.respond_with([429, 200], headers={"Retry-After": "120"})
    firing(hook, django_capture_on_commit_callbacks)
    waiting = Delivery.objects.get()
    assert waiting.state == "pending"
    assert waiting.next_attempt_at > timezone.now() + timedelta(seconds=110)
    assert delivery.sweep() == 0  # not due yet


def test_it_disables_a_slack_channel_that_answers_404(
    http_receiver: HttpReceiver, no_defaults: None, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    slack = Channel.objects.create(name="slack", kind="slack", config={"url": http_receiver.url("/services/x")})
    http_receiver.respond_with([404], body="no_service")
    alert = firing(slack, django_capture_on_commit_callbacks)
    slack.refresh_from_db()
    assert not slack.enabled and "gone" in slack.disabled_reason
    assert Delivery.objects.get().state == "dead"
    assert "channel disabled" in actions(alert)


def test_it_signs_webhooks_so_a_tampered_body_fails(
    hook: Channel, http_receiver: HttpReceiver, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    alert = firing(hook, django_capture_on_commit_callbacks)
    request = http_receiver.wait_for(1)[0]
    timestamp, signature = request.headers["X-Monitor-Timestamp"], request.headers["X-Monitor-Signature"]
    assert request.json()["alert"]["id"] == alert.id
    assert verify_signature(SECRET, timestamp, request.body, signature)
    assert not verify_signature(SECRET, timestamp, request.body.replace(b"firing", b"resolved"), signature)


def test_it_refuses_a_private_address_webhook(
    hook: Channel,
    http_receiver: HttpReceiver,
    settings: Settings,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    settings.MONITOR_ALLOW_PRIVATE_WEBHOOK_TARGETS = False
    alert = firing(hook, django_capture_on_commit_callbacks)
    refused = Delivery.objects.get()
    assert refused.state == "dead"
    assert "127.0.0.1" in refused.last_error
    assert http_receiver.requests == []
    assert actions(alert)[-1] == "dead-lettered"


def test_it_waits_out_a_channel_rate_limit_without_spending_attempts(
    hook: Channel, http_receiver: HttpReceiver, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    Channel.objects.filter(id=hook.id).update(rate_per_minute=1)
    firing(hook, django_capture_on_commit_callbacks)
    second = make_alert(Alert.objects.get().rule, fingerprint="function:2", subject="refund")
    with django_capture_on_commit_callbacks(execute=True):
        outbox.notify(second.incident, "firing")
    held = Delivery.objects.get(alert=second)
    assert (held.state, held.attempts) == ("pending", 0)
    assert held.next_attempt_at > timezone.now() + timedelta(seconds=50)
    assert len(http_receiver.requests) == 1


def test_it_sends_e_mail(
    smtp_server: SmtpReceiver, no_defaults: None, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    mail = Channel.objects.create(name="oncall", kind="email", config={"to": ["oncall@example.org"]})
    alert = firing(mail, django_capture_on_commit_callbacks)
    message = smtp_server.wait_for(1)[0]
    assert alert.rule.name in message["Subject"]
    assert Delivery.objects.get().state == "sent"


def test_it_limits_notifications_per_recipient_across_channels(
    hook: Channel,
    http_receiver: HttpReceiver,
    settings: Settings,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    settings.MONITOR_RECIPIENT_RATE_PER_HOUR = 1
    twin = Channel.objects.create(name="same url", kind="webhook", config=dict(hook.config))
    firing(hook, django_capture_on_commit_callbacks)
    other = make_alert(make_rule(twin, name="other rule"), fingerprint="function:2")
    with django_capture_on_commit_callbacks(execute=True):
        outbox.notify(other.incident, "firing")
    held = Delivery.objects.get(channel=twin)
    assert (held.state, held.attempts) == ("pending", 0)
    assert held.next_attempt_at > timezone.now() + timedelta(minutes=59)
    assert len(http_receiver.requests) == 1


def test_it_retries_a_timeout(
    hook: Channel,
    http_receiver: HttpReceiver,
    settings: Settings,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    from tests.receivers import Reply

    settings.MONITOR_HTTP_TIMEOUT_S = 0.3
    http_receiver.respond_with([Reply(200, delay=2.0), Reply(200)])
    alert = firing(hook, django_capture_on_commit_callbacks)
    waiting = Delivery.objects.get()
    assert (waiting.state, waiting.attempts) == ("pending", 1)
    assert "did not answer" in waiting.last_error
    delivery.sweep()
    waiting.refresh_from_db()
    assert (waiting.state, waiting.attempts) == ("sent", 2)
    assert actions(alert) == ["notification failed", "notified"]
