"""PagerDuty Events API v2: trigger on firing, acknowledge and resolve mirrored.

Every event of one incident carries the same dedup_key (Message.dedup_key), so PagerDuty
opens one incident of its own and closes it when ours resolves. The routing key (the
integration key of an Events API v2 integration) is the secret.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import orjson
from django.conf import settings

from alerts import http as outbound

from .base import ConfigError, Message, Transport, TransportError, clean_url, hashed, http_answer, require_dict
from .targets import refuse_internal_url

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
ACTIONS = {
    "firing": "trigger",
    "updated": "trigger",
    "escalated": "trigger",
    "acknowledged": "acknowledge",
    "resolved": "resolve",
    "test": "trigger",
}
# PagerDuty's severities: critical, error, warning, info.
SEVERITIES = {"critical": "critical", "high": "error", "medium": "warning", "low": "info"}
ROUTING_KEY = re.compile(r"^[A-Za-z0-9]{32}$")
MAX_SUMMARY = 1024


def clean_routing_key(config: dict) -> str:
    value = config.get("routing_key")
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("config.routing_key", "is required")
    value = value.strip()
    if not ROUTING_KEY.match(value):
        raise ConfigError(
            "config.routing_key", "must be the 32-letter-and-digit integration key of an Events API v2 integration"
        )
    return value


def dedup_key(message: Message) -> str:
    """One per incident (outbox.dedup_key); a test gets its own, so it never touches a real one."""
    if message.event == "test" or message.alert_id is None:
        return f"resilience-monitor:test:{message.idempotency_key}"
    return message.dedup_key or f"resilience-monitor:alert:{message.alert_id}"


def event(message: Message, routing_key: str, action: str) -> dict:
    """One Events API v2 event; a trigger carries the details, acknowledge and resolve only the key."""
    body = {"routing_key": routing_key, "event_action": action, "dedup_key": dedup_key(message)}
    if action != "trigger":
        return body
    fields = message.fields
    source = "/".join(v for v in (fields.get("service"), fields.get("subject")) if v) or "resilience-monitor"
    return {
        **body,
        "payload": {
            "summary": " ".join(message.title.split())[:MAX_SUMMARY],
            "severity": SEVERITIES.get(message.severity, "warning"),
            "source": source,
            "component": fields.get("subject", ""),
            "group": fields.get("service", ""),
            "class": fields.get("metric", ""),
            "custom_details": {**fields, "text": message.text},
        },
        "links": [{"href": message.url, "text": "Open in Resilience Monitor"}],
        "client": "Resilience Monitor",
        "client_url": settings.SITE_URL,
    }


class PagerDuty(Transport):
    kind = "pagerduty"
    label = "PagerDuty"
    secret_keys = ("routing_key",)
    # PagerDuty escalates by itself: no reminders; it hears of acknowledgements to mirror them.
    events = frozenset({"firing", "updated", "escalated", "acknowledged", "resolved", "test"})

    @classmethod
    def clean_config(cls, config: dict) -> dict:
        config = require_dict(config)
        cleaned = {"routing_key": clean_routing_key(config)}
        if config.get("url"):
            url = clean_url(config)
            refuse_internal_url("config.url", url)
            cleaned["url"] = url
        return cleaned

    def send(self, message: Message) -> str:
        action = ACTIONS.get(message.event)
        if action is None:
            raise TransportError(f"PagerDuty takes no {message.event!r} notice", permanent=True)
        answer = self.post(event(message, self.config["routing_key"], action))
        if message.event == "test":
            # A test opens PagerDuty's incident and closes it at once: nobody is paged for it.
            answer += "; resolved: " + self.post(event(message, self.config["routing_key"], "resolve"))
        return answer

    def post(self, body: dict) -> str:
        try:
            response = outbound.post_json(self.url(), orjson.dumps(body), {"Content-Type": "application/json"})
        except outbound.HttpStatusError as e:
            if e.status == 400:
                # PagerDuty says why in its errors list: an unknown routing key, a bad field.
                reason = " ".join(e.body.decode(errors="replace").split())[:200]
                raise TransportError(f"PagerDuty refused the event: {reason}", permanent=True) from None
            raise
        return http_answer(response.status, response.body)

    def url(self) -> str:
        return self.config.get("url") or EVENTS_URL

    def recipients(self) -> list[str]:
        return [hashed("pagerduty", self.config["routing_key"])]

    def target(self) -> str:
        return f"PagerDuty Events API v2 on {urlsplit(self.url()).hostname}"
