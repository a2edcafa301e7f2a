"""What Slack, Teams and Discord share: an incoming-webhook URL that is itself the credential
(anyone holding it can post), posted to through alerts/http.py, and disabled once the service
says the hook was removed."""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlsplit

from alerts import http as outbound

from .base import Message, Transport, clean_url, hashed, http_answer, require_dict
from .targets import refuse_internal_url


class HookTransport(Transport):
    secret_keys = ("url",)
    # The answers meaning the hook was removed: the channel is disabled, not retried.
    gone: ClassVar[tuple[int, ...]] = (404, 410)
    # How the target reads: "<hook_name> on <host>".
    hook_name: ClassVar[str] = ""

    @classmethod
    def clean_config(cls, config: dict) -> dict:
        url = clean_url(require_dict(config))
        cls.check_url(url)
        refuse_internal_url("config.url", url)
        return {"url": url}

    @classmethod
    def check_url(cls, url: str) -> None:
        """A kind whose hooks have a known shape refuses others here (raise ConfigError)."""

    def send(self, message: Message) -> str:
        response = outbound.post_to_hook(self.config["url"], self.payload(message), gone=self.gone, says=self.gone_says)
        return http_answer(response.status, response.body)

    def gone_says(self, error: outbound.HttpStatusError) -> str:
        return f"{self.label} says the webhook is gone (HTTP {error.status})"

    def payload(self, message: Message) -> bytes:
        raise NotImplementedError

    def recipients(self) -> list[str]:
        return [hashed(self.kind, self.config["url"])]

    def target(self) -> str:
        return f"{self.hook_name} on {urlsplit(self.config['url']).hostname or ''}"
