"""E-mail through Django's mail API: a text part and an HTML part."""

from __future__ import annotations

import re
import smtplib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend
from django.core.validators import validate_email
from django.template.loader import render_to_string

from alerts import action_links
from alerts import http as outbound

from .base import ConfigError, Message, Transport, TransportError, headline, require_dict
from .targets import refuse_internal

MAX_RECIPIENTS = 20
# An SMTP server of the channel's own (else the site's EMAIL_* settings): how to reach it.
SECURITY = {"starttls": 587, "tls": 465, "none": 25}
HOST_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$|^\[?[0-9A-Fa-f:.]+\]?$")


def clean_addresses(config: dict) -> list[str]:
    value = config.get("to")
    if not isinstance(value, list) or not value:
        raise ConfigError("config.to", "must be a list of 1 to 20 e-mail addresses")
    if len(value) > MAX_RECIPIENTS:
        raise ConfigError("config.to", f"must hold at most {MAX_RECIPIENTS} addresses")
    cleaned: list[str] = []
    for i, address in enumerate(value):
        if not isinstance(address, str):
            raise ConfigError(f"config.to[{i}]", "must be a string")
        try:
            validate_email(address.strip())
        except ValidationError:
            raise ConfigError(f"config.to[{i}]", f"{address!r} is not a valid e-mail address") from None
        if address.strip() not in cleaned:
            cleaned.append(address.strip())
    return cleaned


def smtp_error(e: Exception) -> TransportError:
    """Connection trouble and 4xx replies may pass; a 5xx reject will not."""
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in e.recipients.values()]
        permanent = bool(codes) and all(code >= 500 for code in codes)
        return TransportError(f"SMTP server refused the recipients: {codes}", permanent=permanent)
    if isinstance(e, smtplib.SMTPResponseException):
        text = e.smtp_error.decode(errors="replace") if isinstance(e.smtp_error, bytes) else str(e.smtp_error)
        return TransportError(f"SMTP server answered {e.smtp_code} {text}", permanent=e.smtp_code >= 500)
    return TransportError(f"cannot send e-mail: {e or type(e).__name__}")


def clean_smtp(config: dict) -> dict:
    """The channel's own SMTP server, all optional: none given, the site's EMAIL_* settings."""
    host = config.get("smtp_host") or ""
    username = config.get("smtp_username") or ""
    password = config.get("smtp_password") or ""
    for name, value in (("smtp_host", host), ("smtp_username", username), ("smtp_password", password)):
        if not isinstance(value, str):
            raise ConfigError(f"config.{name}", "must be a string")
    if not host.strip():
        if username or password:
            raise ConfigError("config.smtp_host", "is required with an SMTP user name or password")
        return {}
    host = host.strip()
    if not HOST_NAME.match(host):
        raise ConfigError("config.smtp_host", "must be a host name or an IP address, e.g. smtp.example.org")
    security = config.get("smtp_security") or "starttls"
    if security not in SECURITY:
        raise ConfigError("config.smtp_security", f"must be one of {', '.join(SECURITY)}")
    port = config.get("smtp_port") or SECURITY[security]
    if isinstance(port, str) and port.strip().isdigit():
        port = int(port)
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise ConfigError("config.smtp_port", "must be a port number from 1 to 65535")
    if len(username) > 254:
        raise ConfigError("config.smtp_username", "must be at most 254 characters")
    if len(password) > 1000:
        raise ConfigError("config.smtp_password", "must be at most 1000 characters")
    refuse_internal("config.smtp_host", host.strip("[]"), port)
    cleaned = {"smtp_host": host, "smtp_port": port, "smtp_security": security}
    if username:
        cleaned["smtp_username"] = username
    if password:
        cleaned["smtp_password"] = password
    return cleaned


class AnsweringSMTP(smtplib.SMTP):
    """Keeps the server's answer to the message (DATA), which smtplib's sendmail drops."""

    last_reply = ""

    def data(self, msg: bytes | str) -> tuple[int, bytes]:
        code, text = super().data(msg)
        self.last_reply = f"{code} {text.decode(errors='replace')}"
        return code, text


class AnsweringSMTPSSL(smtplib.SMTP_SSL, AnsweringSMTP):
    pass


class AnsweringBackend(EmailBackend):
    @property
    def connection_class(self) -> type[smtplib.SMTP]:
        return AnsweringSMTPSSL if self.use_ssl else AnsweringSMTP


class Email(Transport):
    kind = "email"
    label = "E-mail"
    secret_keys = ("smtp_password",)

    @classmethod
    def clean_config(cls, config: dict) -> dict:
        config = require_dict(config)
        return {"to": clean_addresses(config), **clean_smtp(config)}

    def send(self, message: Message) -> str:
        connection = self.connection()
        # A message with action links goes to each address on its own: its links name who acts.
        if action_links.carries_actions(message.alert_id, message.event):
            mails = [self.mail(message, [address], connection) for address in self.recipients()]
        else:
            mails = [self.mail(message, self.recipients(), connection)]
        try:
            connection.open()
            try:
                connection.send_messages(mails)
                reply = getattr(getattr(connection, "connection", None), "last_reply", "")
            finally:
                connection.close()
        except (smtplib.SMTPException, OSError) as e:
            raise smtp_error(e) from None
        return f"SMTP {reply}" if reply else "accepted by the mail backend"

    def mail(self, message: Message, to: list[str], connection: BaseEmailBackend) -> EmailMultiAlternatives:
        recipient = action_links.email_recipient(to[0]) if len(to) == 1 else ""
        links = action_links.links(message.alert_id if recipient else None, message.event, message.url, recipient)
        context = {"message": message, "headline": headline(message), "links": links}
        mail = EmailMultiAlternatives(
            subject=self.subject(message),
            body=render_to_string("alerts/email/message.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=to,
            connection=connection,
        )
        mail.attach_alternative(render_to_string("alerts/email/message.html", context), "text/html")
        return mail

    def connection(self) -> BaseEmailBackend:
        """The channel's SMTP server, else the site's mail settings (kept answering, when SMTP)."""
        host = self.config.get("smtp_host")
        if host:
            outbound.checked_addresses(host.strip("[]"), self.config["smtp_port"])
            security = self.config["smtp_security"]
            return AnsweringBackend(
                host=host.strip("[]"),
                port=self.config["smtp_port"],
                username=self.config.get("smtp_username", ""),
                password=self.config.get("smtp_password", ""),
                use_tls=security == "starttls",
                use_ssl=security == "tls",
                timeout=settings.EMAIL_TIMEOUT,
            )
        default = get_connection()
        return AnsweringBackend() if type(default) is EmailBackend else default

    def target(self) -> str:
        to = ", ".join(self.config["to"])
        host = self.config.get("smtp_host")
        return f"{to} via {host}" if host else to

    def recipients(self) -> list[str]:
        return list(self.config["to"])

    def subject(self, message: Message) -> str:
        # A header must not contain line breaks.
        return " ".join(f"[{message.severity}] {headline(message)}".split())[:200]
