"""Signed JSON webhooks: Idempotency-Key, and HMAC-SHA256 over timestamp and body."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime

import orjson

from alerts import http as outbound

from .base import ConfigError, Message, Transport, clean_url, http_answer, require_dict
from .targets import refuse_internal_url, shown_url

MIN_SECRET_CHARS = 16
MAX_SECRET_CHARS = 256


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={digest.hexdigest()}"


def verify_signature(
    secret: str, timestamp: int | str, body: bytes, header: str | None, tolerance_s: int = 300
) -> bool:
    """True when one v1= value of the X-Monitor-Signature header matches and the timestamp is fresh."""
    if not header:
        return False
    try:
        sent = int(str(timestamp).strip())
    except ValueError:
        return False
    if abs(time.time() - sent) > tolerance_s:
        return False
    expected = sign(secret, sent, body)
    matches = [hmac.compare_digest(expected, value.strip()) for value in header.split(",")]
    return any(matches)


def clean_secret(config: dict, name: str, required: bool) -> str | None:
    value = config.get(name)
    if value is None or value == "":
        if required:
            raise ConfigError(f"config.{name}", "is required")
        return None
    if not isinstance(value, str):
        raise ConfigError(f"config.{name}", "must be a string")
    if not MIN_SECRET_CHARS <= len(value) <= MAX_SECRET_CHARS:
        raise ConfigError(f"config.{name}", f"must be {MIN_SECRET_CHARS} to {MAX_SECRET_CHARS} characters")
    return value


class Webhook(Transport):
    kind = "webhook"
    label = "Webhook"

    secret_keys = ("secret", "previous_secret")

    @classmethod
    def clean_config(cls, config: dict) -> dict:
        config = require_dict(config)
        url = clean_url(config)
        refuse_internal_url("config.url", url)
        cleaned = {"url": url, "secret": clean_secret(config, "secret", required=True)}
        previous = clean_secret(config, "previous_secret", required=False)
        if previous is not None:
            cleaned["previous_secret"] = previous
        return cleaned

    def send(self, message: Message) -> str:
        body = self.payload(message)
        timestamp = int(time.time())
        response = outbound.post_json(self.config["url"], body, self.headers(message, timestamp, body))
        return http_answer(response.status, response.body)

    def recipients(self) -> list[str]:
        return [self.config["url"]]

    def target(self) -> str:
        return shown_url(self.config["url"])

    def payload(self, message: Message) -> bytes:
        # `alert` is the incident's first alert, shaped as before incidents; `incident` names them all.
        first = message.incident["alerts"][0] if message.incident else {}
        alert = {
            **message.fields,
            "id": message.alert_id,
            "title": message.title,
            "severity": first.get("severity", message.severity),
            "url": first.get("url", message.url),
        }
        body = {
            "event": message.event,
            "alert": alert,
            "text": message.text,
            "sent_at": datetime.now(UTC).isoformat(),
        }
        if message.incident:
            body["incident"] = message.incident
        return orjson.dumps(body)

    def headers(self, message: Message, timestamp: int, body: bytes) -> dict[str, str]:
        # While a secret is being rotated both signatures go out; receivers accept either.
        secrets = [self.config["secret"], self.config.get("previous_secret")]
        signature = ",".join(sign(secret, timestamp, body) for secret in secrets if secret)
        return {
            "Content-Type": "application/json",
            "Idempotency-Key": message.idempotency_key,
            "X-Monitor-Timestamp": str(timestamp),
            "X-Monitor-Signature": signature,
        }
