"""Acknowledge and suppress from the notification: signed links in real e-mails (an SMTP
server) and Slack messages (a local receiver) work once, without a login, after a confirm
page, and are refused when tampered with, expired, reused or the incident is resolved.
A notice is per incident: its links act on the incident of the alert they name."""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage

import orjson
import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from alerts import lifecycle
from alerts.models import ActionLinkUse, Alert, Channel, Rule, Silence
from tests.alert_fixtures import People, make_rule
from tests.receivers import HttpReceiver, SmtpReceiver

TO = ["oncall@example.org", "lead@example.org"]
# The incident's first notice at once: these tests are about its links, not its group wait.
pytestmark = pytest.mark.usefixtures("notify_at_once")


def fire(rule: Rule, capture: DjangoCaptureOnCommitCallbacks) -> Alert:
    with capture(execute=True):
        alert = lifecycle.fire(rule, lifecycle.Observation("function:1", "payments", "charge", 0.5))
    assert alert is not None
    return alert


def text_of(mail: EmailMessage) -> str:
    return next(p.get_content() for p in mail.walk() if p.get_content_type() == "text/plain")


def link(text: str, label: str) -> str:
    """The path of the link labelled so in a text e-mail ("Acknowledge: http://...")."""
    url = re.search(rf"^{re.escape(label)}: (\S+)\r?$", text, re.M)
    assert url, text
    return url.group(1).removeprefix("http://127.0.0.1:8000")


def confirm_and_post(path: str) -> tuple[int, str]:
    """What a person does: open the link, then press the button (the CSRF token checked)."""
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(path)
    assert page.status_code == 200, page.content
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1).decode()
    answer = browser.post(path, {"csrfmiddlewaretoken": token})
    return answer.status_code, answer.content.decode()


def mails_by_recipient(smtp_server: SmtpReceiver, n: int) -> dict[str, str]:
    return {mail["To"]: text_of(mail) for mail in smtp_server.wait_for(n)}


def email_rule() -> Rule:
    return make_rule(Channel.objects.create(name="mail", kind="email", config={"to": TO}))


def test_an_ack_link_from_a_real_email_acknowledges_once_naming_the_recipient(
    people: People,
    smtp_server: SmtpReceiver,
    no_defaults: None,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    alert = fire(email_rule(), django_capture_on_commit_callbacks)

    # Each address gets its own message: its links name who acts.
    mails = mails_by_recipient(smtp_server, 2)
    assert set(mails) == set(TO)
    path = link(mails["oncall@example.org"], "Acknowledge")
    assert path.startswith("/act/")
    assert path != link(mails["lead@example.org"], "Acknowledge")
    assert link(mails["oncall@example.org"], "Open the incident") == f"/incidents/{alert.incident_id}/"

    page = Client().get(path)  # what a link-preview bot does
    assert page.status_code == 200
    assert (
        f"Acknowledge incident #{alert.incident_id} on payments/charge and its open alerts as "
        "<strong>oncall@example.org</strong>?" in page.content.decode()
    )
    alert.refresh_from_db()
    assert alert.state == "firing"

    status, body = confirm_and_post(path)
    assert status == 200 and f"Done: incident #{alert.incident_id} on payments/charge is acknowledged" in body
    alert.refresh_from_db()
    assert alert.state == "acknowledged" and alert.incident.state == "acknowledged"
    timeline = people.viewer.get(f"/api/v1/alerts/{alert.id}").json()["timeline"]
    acknowledged = next(e for e in timeline if e["action"] == "acknowledged")
    assert acknowledged["actor"] == "oncall@example.org"
    assert acknowledged["detail"] == "from the link in a notification"

    again = Client().post(path)
    assert again.status_code == 409
    assert "already used" in again.content.decode()
    assert Client().get(path).status_code == 409
    assert ActionLinkUse.objects.count() == 1


def test_a_suppress_link_suppresses_for_an_hour_naming_the_recipient(
    smtp_server: SmtpReceiver, no_defaults: None, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    alert = fire(email_rule(), django_capture_on_commit_callbacks)
    path = link(mails_by_recipient(smtp_server, 2)["lead@example.org"], "Suppress 1 h")

    status, body = confirm_and_post(path)

    assert status == 200 and "suppressed for 1 hour" in body
    alert.refresh_from_db()
    assert timedelta(minutes=59) < alert.suppressed_until - timezone.now() <= timedelta(minutes=60)
    event = alert.events.get(action="suppressed")
    assert event.actor_name == "lead@example.org" and event.actor is None
    assert event.detail.endswith(": from the link in a notification (lead@example.org)")
    assert Silence.objects.get().comment == "from the link in a notification (lead@example.org)"
    # The other action of the same message still works, once.
    assert confirm_and_post(link(mails_by_recipient(smtp_server, 2)["lead@example.org"], "Acknowledge"))[0] == 200


def test_a_suppress_link_works_once_though_the_alert_stays_open(
    smtp_server: SmtpReceiver, no_defaults: None, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    alert = fire(email_rule(), django_capture_on_commit_callbacks)
    path = link(mails_by_recipient(smtp_server, 2)["oncall@example.org"], "Suppress 1 h")
    assert confirm_and_post(path)[0] == 200
    first = Alert.objects.get(id=alert.id).suppressed_until

    with time_machine.travel(timezone.now() + timedelta(minutes=30)):
        again = Client().post(path)

    assert again.status_code == 409 and "already used" in again.content.decode()
    assert Alert.objects.get(id=alert.id).suppressed_until == first
    assert alert.events.filter(action="suppressed").count() == 1


def test_a_tampered_link_is_refused(
    smtp_server: SmtpReceiver, no_defaults: None, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    alert = fire(email_rule(), django_capture_on_commit_callbacks)
    path = link(mails_by_recipient(smtp_server, 2)["oncall@example.org"], "Acknowledge")
    token = path.removeprefix("/act/").removesuffix("/")
    # Another recipient's name in the claim, the signature kept.
    head, rest = token.split(":", 1)
    forged = "/act/" + head[:-2] + ("AA" if head[-2:] != "AA" else "BB") + ":" + rest + "/"

    for tampered in (forged, path[:-6] + "/", "/act/nonsense/"):
        for answer in (Client().get(tampered), Client().post(tampered)):
            assert answer.status_code == 400, tampered
            assert "This link is not valid" in answer.content.decode()
    alert.refresh_from_db()
    assert alert.state == "firing"


def test_an_expired_link_is_refused(
    smtp_server: SmtpReceiver,
    settings: Settings,
    no_defaults: None,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    settings.MONITOR_ACTION_LINK_HOURS = 24
    alert = fire(email_rule(), django_capture_on_commit_callbacks)
    path = link(mails_by_recipient(smtp_server, 2)["oncall@example.org"], "Acknowledge")

    with time_machine.travel(timezone.now() + timedelta(hours=23, minutes=59)):
        assert Client().get(path).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1)):
        answer = Client().post(path)
    assert answer.status_code == 410
    assert "This link has expired: links work for 24 h after they are sent." in answer.content.decode()
    alert.refresh_from_db()
    assert alert.state == "firing"


def test_a_link_of_a_resolved_alert_is_refused_and_not_spent(
    smtp_server: SmtpReceiver, no_defaults: None, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    alert = fire(email_rule(), django_capture_on_commit_callbacks)
    mails = mails_by_recipient(smtp_server, 2)
    lifecycle.resolve(alert)

    for label in ("Acknowledge", "Suppress 1 h"):
        path = link(mails["oncall@example.org"], label)
        for answer in (Client().get(path), Client().post(path)):
            assert answer.status_code == 409
            assert "This incident was resolved at" in answer.content.decode()
    alert.refresh_from_db()
    assert (alert.state, alert.suppressed_until) == ("resolved", None)
    assert not ActionLinkUse.objects.exists()


def test_an_ack_link_after_someone_acknowledged_says_who(
    people: People,
    smtp_server: SmtpReceiver,
    no_defaults: None,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    alert = fire(email_rule(), django_capture_on_commit_callbacks)
    path = link(mails_by_recipient(smtp_server, 2)["oncall@example.org"], "Acknowledge")
    lifecycle.acknowledge(alert, people.responder.user)

    answer = Client().post(path)

    assert answer.status_code == 409
    assert "already acknowledged, by bob" in answer.content.decode()


def test_a_slack_message_carries_the_links_and_names_slack_on_the_timeline(
    http_receiver: HttpReceiver, no_defaults: None, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    slack = Channel.objects.create(name="slack", kind="slack", config={"url": http_receiver.url("/slack")})
    alert = fire(make_rule(slack), django_capture_on_commit_callbacks)

    [attachment] = orjson.loads(http_receiver.wait_for(1)[0].body)["attachments"]
    buttons = {b["text"]: b["url"] for b in attachment["actions"]}
    assert list(buttons) == ["Acknowledge", "Suppress 1 h", "Open"]
    assert all(b["type"] == "button" for b in attachment["actions"])
    assert buttons["Open"] == f"http://127.0.0.1:8000/incidents/{alert.incident_id}/"
    assert buttons["Acknowledge"].startswith("http://127.0.0.1:8000/act/")

    status, body = confirm_and_post(buttons["Acknowledge"].removeprefix("http://127.0.0.1:8000"))

    assert status == 200
    assert alert.events.get(action="acknowledged").actor_name == "via Slack link"


def test_a_resolved_notice_carries_no_action_links(
    http_receiver: HttpReceiver, no_defaults: None, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    slack = Channel.objects.create(name="slack", kind="slack", config={"url": http_receiver.url("/slack")})
    alert = fire(make_rule(slack), django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.resolve(alert)

    resolved = orjson.loads(http_receiver.wait_for(2)[1].body)["attachments"][0]
    assert [b["text"] for b in resolved["actions"]] == ["Open"]


def test_links_point_at_site_url(
    settings: Settings,
    http_receiver: HttpReceiver,
    no_defaults: None,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    settings.SITE_URL = "https://monitor.example.org"
    slack = Channel.objects.create(name="slack", kind="slack", config={"url": http_receiver.url("/slack")})
    fire(make_rule(slack), django_capture_on_commit_callbacks)

    [attachment] = orjson.loads(http_receiver.wait_for(1)[0].body)["attachments"]
    assert all(b["url"].startswith("https://monitor.example.org/") for b in attachment["actions"])
