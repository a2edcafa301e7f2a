"""Microsoft Teams through a workflow webhook ("When a Teams webhook request is received"):
a message with one Adaptive Card, the shape Teams workflows post to a channel."""

from __future__ import annotations

from urllib.parse import urlsplit

import orjson

from alerts import http as outbound

from .base import Message, Transport, clean_url, hashed, http_answer, require_dict
from .targets import refuse_internal_url

PREFIXES = {
    "firing": "Firing",
    "updated": "Updated",
    "resolved": "Resolved",
    "reminder": "Still firing",
    "escalated": "Escalated",
    "test": "Test",
}
# Adaptive Card text colours.
COLORS = {"critical": "Attention", "high": "Warning", "medium": "Warning", "low": "Accent"}
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"


def card(message: Message) -> dict:
    headline = f"{PREFIXES.get(message.event, message.event)}: {message.title}"
    color = "Good" if message.event == "resolved" else COLORS.get(message.severity, "Default")
    facts = [{"title": "Severity", "value": message.severity}]
    facts += [{"title": name, "value": str(value)} for name, value in message.fields.items()]
    return {
        "type": "AdaptiveCard",
        "$schema": CARD_SCHEMA,
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": [
            {"type": "TextBlock", "text": headline, "weight": "Bolder", "size": "Medium", "wrap": True, "color": color},
            {"type": "TextBlock", "text": message.text, "wrap": True},
            {"type": "FactSet", "facts": facts},
        ],
        "actions": [{"type": "Action.OpenUrl", "title": "Open", "url": message.url}],
    }


class Teams(Transport):
    kind = "teams"
    label = "Microsoft Teams"
    # The workflow URL carries its signature (sig=...): anyone holding it can post.
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
            gone=(404, 410),
            says=lambda e: f"Teams says the workflow is gone (HTTP {e.status})",
        )
        return http_answer(response.status, response.body)

    def payload(self, message: Message) -> bytes:
        attachment = {
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": None,
            "content": card(message),
        }
        return orjson.dumps({"type": "message", "attachments": [attachment]})

    def recipients(self) -> list[str]:
        return [hashed("teams", self.config["url"])]

    def target(self) -> str:
        return f"Teams workflow on {urlsplit(self.config['url']).hostname or ''}"
