"""E-mail notifications delivered to a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from pytest_django import Settings

from alerts.transports import TRANSPORTS, ConfigError, Message, TransportError, transport_for
from tests.receivers import SmtpReceiver
from tests.servers import free_port

TO = ["oncall@example.org", "lead@example.org"]


def message(**overrides: object) -> Message:
    values = {
        "event": "firing",
        "alert_id": 3,
        "title": "orders queue depth above 1000",
        "text": "depth 1450 > 1000",
        "severity": "medium",
        "url": "http://monitor.example.org/alerts/3",
        "idempotency_key": "delivery-3-1",
        "fields": {"queue": "orders"},
    }
    return Message(**{**values, **overrides})


def parts(mail: EmailMessage) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in mail.walk() if not part.is_multipart()}


def test_it_sends_text_and_html_to_every_recipient(smtp_server: SmtpReceiver, settings: Settings) -> None:
    # A resolved notice carries no action links: one message to all (a firing one: test_action_links.py).
    settings.DEFAULT_FROM_EMAIL = "Resilience Monitor <monitor@example.org>"

    transport_for("email", {"to": TO}).notify(message(event="resolved"))

    [mail] = smtp_server.wait_for(1)
    assert mail["From"] == "Resilience Monitor <monitor@example.org>"
    assert mail["To"] == "oncall@example.org, lead@example.org"
    assert mail["Subject"] == "[medium] Resolved: orders queue depth above 1000"
    assert smtp_server.envelopes[0].rcpt_tos == TO
    body = parts(mail)
    assert set(body) == {"text/plain", "text/html"}
    assert "depth 1450 > 1000" in body["text/plain"]
    assert "http://monitor.example.org/alerts/3" in body["text/plain"]
    assert "queue: orders" in body["text/plain"]
    assert '<a href="http://monitor.example.org/alerts/3"' in body["text/html"]
    assert "depth 1450 &gt; 1000" in body["text/html"]


def test_it_escapes_the_html_part(smtp_server: SmtpReceiver) -> None:
    transport_for("email", {"to": TO[:1]}).notify(message(title="<script>x</script>", event="resolved"))

    [mail] = smtp_server.wait_for(1)
    assert "<script>" not in parts(mail)["text/html"]
    assert "&lt;script&gt;" in parts(mail)["text/html"]
    assert mail["Subject"] == "[medium] Resolved: <script>x</script>"


def test_it_keeps_line_breaks_out_of_the_subject(smtp_server: SmtpReceiver) -> None:
    transport_for("email", {"to": TO[:1]}).notify(message(title="two\nlines\r\nBcc: evil@example.org"))

    [mail] = smtp_server.wait_for(1)
    assert mail["Subject"] == "[medium] Firing: two lines Bcc: evil@example.org"
    assert mail["Bcc"] is None
    assert smtp_server.envelopes[0].rcpt_tos == TO[:1]


def test_a_5xx_reject_is_permanent(smtp_server: SmtpReceiver) -> None:
    smtp_server.reject_with(550)

    with pytest.raises(TransportError) as e:
        transport_for("email", {"to": TO}).notify(message())

    assert e.value.permanent
    assert "550" in e.value.message
    assert smtp_server.messages == []


def test_a_5xx_reject_of_the_data_is_permanent(smtp_server: SmtpReceiver) -> None:
    smtp_server.reject_with(554, at="data")

    with pytest.raises(TransportError) as e:
        transport_for("email", {"to": TO}).notify(message())

    assert e.value.permanent
    assert "554" in e.value.message


@pytest.mark.parametrize("at", ["rcpt", "data"])
def test_a_4xx_reply_is_temporary(smtp_server: SmtpReceiver, at: str) -> None:
    smtp_server.reject_with(451, at=at)

    with pytest.raises(TransportError) as e:
        transport_for("email", {"to": TO}).notify(message())

    assert not e.value.permanent
    assert "451" in e.value.message


def test_no_smtp_server_is_temporary(smtp_server: SmtpReceiver, settings: Settings) -> None:
    settings.EMAIL_PORT = free_port()  # nothing listens there

    with pytest.raises(TransportError) as e:
        transport_for("email", {"to": TO}).notify(message())

    assert not e.value.permanent


def test_its_recipients_are_the_addresses() -> None:
    assert transport_for("email", {"to": TO}).recipients() == TO


def test_it_cleans_its_config() -> None:
    config = {"to": [" oncall@example.org", "oncall@example.org", "lead@example.org"]}

    assert TRANSPORTS["email"].clean_config(config) == {"to": TO}


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({}, "config.to"),
        ({"to": []}, "config.to"),
        ({"to": "oncall@example.org"}, "config.to"),
        ({"to": [f"p{i}@example.org" for i in range(21)]}, "config.to"),
        ({"to": ["oncall@example.org", "not an address"]}, "config.to[1]"),
        ({"to": ["oncall@example.org", "lead@example.org", 7]}, "config.to[2]"),
    ],
)
def test_it_names_the_bad_config_field(config: dict, field: str) -> None:
    with pytest.raises(ConfigError) as e:
        TRANSPORTS["email"].clean_config(config)

    assert e.value.field == field
