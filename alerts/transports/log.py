"""The log channel: one line per message, for the embedded default and for trying rules out."""

from __future__ import annotations

import logging

from .base import Message, Transport, require_dict

logger = logging.getLogger("alerts.notifications")


def one_line(text: str) -> str:
    # A line per message keeps log readers and greps honest, whatever a rule's text holds.
    return " ".join(text.split())


class Log(Transport):
    kind = "log"
    label = "Log"

    @classmethod
    def clean_config(cls, config: dict) -> dict:
        require_dict(config)
        return {}

    def target(self) -> str:
        return "the server log (alerts.notifications)"

    def send(self, message: Message) -> str:
        level = logging.WARNING if message.event == "firing" else logging.INFO
        severity = f"[{message.severity}]"
        title = message.title if message.title.startswith(severity) else f"{severity} {message.title}"
        line = f"{message.event} {title} (alert {message.alert_id}) {message.text}"
        logger.log(level, "%s %s", one_line(line), message.url)
        return "written to the server log"
