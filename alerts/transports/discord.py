"""Discord webhooks: a line of content and one embed coloured by severity."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

import orjson

from .base import ConfigError, Message, headline
from .hook import HookTransport

COLORS = {"critical": 0xD62728, "high": 0xFF7F0E, "medium": 0xF2C744, "low": 0x1F77B4}
RESOLVED_COLOR = 0x2CA02C
WEBHOOK_PATH = re.compile(r"/api(/v\d+)?/webhooks/\d+/[\w-]+/?$")
# Discord's limits: content 2000 characters, embed title 256, description 4096, 25 fields
# of name 256 and value 1024, and 6000 characters in all the embed's texts together.
MAX_FIELDS = 25
MAX_EMBED_CHARS = 6000
FOOTER = "Resilience Monitor"


def within_budget(fields: list[dict], budget: int) -> list[dict]:
    """The first fields (at most 25) whose names and values fit in budget characters."""
    kept = []
    for f in fields[:MAX_FIELDS]:
        budget -= len(f["name"]) + len(f["value"])
        if budget < 0:
            break
        kept.append(f)
    return kept


def embed(message: Message) -> dict:
    first_line = headline(message)
    color = RESOLVED_COLOR if message.event == "resolved" else COLORS.get(message.severity, COLORS["low"])
    title, description = first_line[:256], message.text[:4096]
    fields = [{"name": "Severity", "value": message.severity, "inline": True}]
    fields += [{"name": k[:256], "value": str(v)[:1024] or "-", "inline": True} for k, v in message.fields.items()]
    budget = MAX_EMBED_CHARS - len(title) - len(description) - len(FOOTER)
    return {
        "title": title,
        "url": message.url,
        "description": description,
        "color": color,
        "fields": within_budget(fields, budget),
        "timestamp": datetime.now(UTC).isoformat(),
        "footer": {"text": FOOTER},
    }


class Discord(HookTransport):
    kind = "discord"
    label = "Discord"
    hook_name = "Discord webhook"
    # Discord answers 404 Unknown Webhook (or 401 Invalid Webhook Token) once it is deleted.
    gone = (401, 404)

    @classmethod
    def check_url(cls, url: str) -> None:
        if not WEBHOOK_PATH.search(urlsplit(url).path):
            raise ConfigError("config.url", "must be a Discord webhook URL, …/api/webhooks/ID/TOKEN")

    def payload(self, message: Message) -> bytes:
        first_line = headline(message)
        body = {
            "content": " ".join(first_line.split())[:2000],
            "embeds": [embed(message)],
            # A rule or subject name must never ping @everyone.
            "allowed_mentions": {"parse": []},
        }
        return orjson.dumps(body)
