"""E-mail through Django's mail API: a text part and an HTML part."""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.template.loader import render_to_string

from .base import ConfigError, Message, Transport, TransportError, require_dict

MAX_RECIPIENTS = 20
PREFIXES = {"firing": "Firing", "resolved": "Resolved", "reminder": "Still firing", "test": "Test"}


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


class Email(Transport):
    kind = "email"
    label = "E-mail"

    @classmethod
    def clean_config(cls, config: dict) -> dict:
        return {"to": clean_addresses(require_dict(config))}

    def notify(self, message: Message) -> None:
        context = {"message": message, "headline": self.headline(message)}
        mail = EmailMultiAlternatives(
            subject=self.subject(message),
            body=render_to_string("alerts/email/message.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=self.recipients(),
        )
        mail.attach_alternative(render_to_string("alerts/email/message.html", context), "text/html")
        try:
            mail.send(fail_silently=False)
        except (smtplib.SMTPException, OSError) as e:
            raise smtp_error(e) from None

    def recipients(self) -> list[str]:
        return list(self.config["to"])

    def headline(self, message: Message) -> str:
        return f"{PREFIXES.get(message.event, message.event)}: {message.title}"

    def subject(self, message: Message) -> str:
        # A header must not contain line breaks.
        return " ".join(f"[{message.severity}] {self.headline(message)}".split())[:200]
