"""Slack incoming webhooks: a fallback text and one attachment coloured by severity."""

from __future__ import annotations

from urllib.parse import urlsplit

import orjson

from alerts import action_links
from alerts import http as outbound

from .base import Message, Transport, clean_url, hashed, http_answer, require_dict
from .targets import refuse_internal_url

COLORS = {"critical": "#d62728", "high": "#ff7f0e", "medium": "#f2c744", "low": "#1f77b4"}
RESOLVED_COLOR = "#2ca02c"
PREFIXES = {
    "firing": "Firing",
    "updated": "Updated",
    "resolved": "Resolved",
    "reminder": "Still firing",
    "escalated": "Escalated",
    "test": "Test",
}


class Slack(Transport):
    kind = "slack"
    label = "Slack"

    # The incoming-webhook URL is itself the credential: anyone holding it can post.
    secret_keys = ("url",)

    @classmethod
    def clean_config(cls, config: dict) -> dict:
        url = clean_url(require_dict(config))
        refuse_internal_url("config.url", url)
        return {"url": url}

    def send(self, message: Message) -> str:
        response = outbound.post_to_hook(
            self.config["url"],
            self.payload(message),
            # Slack answers no_service / channel_not_found once a hook is removed.
            gone=(404, 410),
            says=lambda e: f"Slack says the webhook is gone ({e.body.decode(errors='replace')[:100] or e.status})",
        )
        return http_answer(response.status, response.body)

    def recipients(self) -> list[str]:
        return [hashed("slack", self.config["url"])]

    def target(self) -> str:
        host = urlsplit(self.config["url"]).hostname or ""
        return f"Slack incoming webhook on {host}"

    def payload(self, message: Message) -> bytes:
        color = RESOLVED_COLOR if message.event == "resolved" else COLORS.get(message.severity, COLORS["low"])
        headline = f"{PREFIXES.get(message.event, message.event)}: {message.title}"
        attachment = {
            "fallback": headline,
            "color": color,
            "title": headline,
            "title_link": message.url,
            "text": message.text,
            "fields": [
                {"title": "Severity", "value": message.severity, "short": True},
                *({"title": k, "value": v, "short": True} for k, v in message.fields.items()),
            ],
            # Link buttons: Acknowledge and Suppress 1 h (signed, alerts/action_links.py) and Open.
            "actions": [
                {"type": "button", "text": link.label, "url": link.url}
                for link in action_links.links(message.alert_id, message.event, message.url, action_links.SLACK)
            ],
        }
        return orjson.dumps({"text": headline, "attachments": [attachment]})
