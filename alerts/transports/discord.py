"""Discord webhooks: a line of content and one embed coloured by severity."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

import orjson

from alerts import http as outbound

from .base import ConfigError, Message, Transport, clean_url, hashed, http_answer, require_dict
from .targets import refuse_internal_url

PREFIXES = {
    "firing": "Firing",
    "updated": "Updated",
    "resolved": "Resolved",
    "reminder": "Still firing",
    "escalated": "Escalated",
    "test": "Test",
}
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
    headline = f"{PREFIXES.get(message.event, message.event)}: {message.title}"
    color = RESOLVED_COLOR if message.event == "resolved" else COLORS.get(message.severity, COLORS["low"])
    title, description = headline[:256], message.text[:4096]
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


class Discord(Transport):
    kind = "discord"
    label = "Discord"
    # The webhook URL holds its token: anyone holding it can post.
    secret_keys = ("url",)

    @classmethod
    def clean_config(cls, config: dict) -> dict:
        url = clean_url(require_dict(config))
        if not WEBHOOK_PATH.search(urlsplit(url).path):
            raise ConfigError("config.url", "must be a Discord webhook URL, …/api/webhooks/ID/TOKEN")
        refuse_internal_url("config.url", url)
        return {"url": url}

    def send(self, message: Message) -> str:
        response = outbound.post_to_hook(
            self.config["url"],
            self.payload(message),
            # Discord answers 404 Unknown Webhook (or 401 Invalid Webhook Token) once it is deleted.
            gone=(401, 404),
            says=lambda e: f"Discord says the webhook is gone (HTTP {e.status})",
        )
        return http_answer(response.status, response.body)

    def payload(self, message: Message) -> bytes:
        headline = f"{PREFIXES.get(message.event, message.event)}: {message.title}"
        body = {
            "content": " ".join(headline.split())[:2000],
            "embeds": [embed(message)],
            # A rule or subject name must never ping @everyone.
            "allowed_mentions": {"parse": []},
        }
        return orjson.dumps(body)

    def recipients(self) -> list[str]:
        return [hashed("discord", self.config["url"])]

    def target(self) -> str:
        return f"Discord webhook on {urlsplit(self.config['url']).hostname or ''}"
