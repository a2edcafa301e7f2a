"""Microsoft Teams through a workflow webhook ("When a Teams webhook request is received"):
a message with one Adaptive Card, the shape Teams workflows post to a channel."""

from __future__ import annotations

import orjson

from alerts import http as outbound

from .base import Message, headline
from .hook import HookTransport

# Adaptive Card text colours.
COLORS = {"critical": "Attention", "high": "Warning", "medium": "Warning", "low": "Accent"}
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"


def card(message: Message) -> dict:
    title = headline(message)
    color = "Good" if message.event == "resolved" else COLORS.get(message.severity, "Default")
    facts = [{"title": "Severity", "value": message.severity}]
    facts += [{"title": name, "value": str(value)} for name, value in message.fields.items()]
    return {
        "type": "AdaptiveCard",
        "$schema": CARD_SCHEMA,
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": [
            {"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": True, "color": color},
            {"type": "TextBlock", "text": message.text, "wrap": True},
            {"type": "FactSet", "facts": facts},
        ],
        "actions": [{"type": "Action.OpenUrl", "title": "Open", "url": message.url}],
    }


class Teams(HookTransport):
    kind = "teams"
    label = "Microsoft Teams"
    hook_name = "Teams workflow"
    # The workflow URL carries its signature (sig=...): anyone holding it can post.

    def gone_says(self, error: outbound.HttpStatusError) -> str:
        return f"Teams says the workflow is gone (HTTP {error.status})"

    def payload(self, message: Message) -> bytes:
        attachment = {
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": None,
            "content": card(message),
        }
        return orjson.dumps({"type": "message", "attachments": [attachment]})
