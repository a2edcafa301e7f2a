"""Slack incoming webhooks: a fallback text and one attachment coloured by severity."""

from __future__ import annotations

import orjson

from alerts import action_links
from alerts import http as outbound

from .base import Message, headline
from .hook import HookTransport

COLORS = {"critical": "#d62728", "high": "#ff7f0e", "medium": "#f2c744", "low": "#1f77b4"}
RESOLVED_COLOR = "#2ca02c"


class Slack(HookTransport):
    kind = "slack"
    label = "Slack"
    hook_name = "Slack incoming webhook"

    def gone_says(self, error: outbound.HttpStatusError) -> str:
        # Slack answers no_service / channel_not_found once a hook is removed.
        return f"Slack says the webhook is gone ({error.body.decode(errors='replace')[:100] or error.status})"

    def payload(self, message: Message) -> bytes:
        color = RESOLVED_COLOR if message.event == "resolved" else COLORS.get(message.severity, COLORS["low"])
        first_line = headline(message)
        attachment = {
            "fallback": first_line,
            "color": color,
            "title": first_line,
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
        return orjson.dumps({"text": first_line, "attachments": [attachment]})
