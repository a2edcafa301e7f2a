"""The log channel: one line per message, for the embedded default and for trying rules out."""

from __future__ import annotations

import logging

from .base import Message, Transport, require_dict

logger = logging.getLogger("alerts.notifications")


class Log(Transport):
    kind = "log"
    label = "Log"

    @classmethod
    def clean_config(cls, config: dict) -> dict:
        require_dict(config)
        return {}

    def notify(self, message: Message) -> None:
        level = logging.WARNING if message.event == "firing" else logging.INFO
        logger.log(
            level,
            "%s [%s] %s (alert %s) %s %s",
            message.event,
            message.severity,
            message.title,
            message.alert_id,
            message.text,
            message.url,
        )
