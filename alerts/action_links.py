"""Signed action links in notifications: acknowledge or suppress an alert without a login.

A link is a token signed with SECRET_KEY (django.core.signing, its own salt) naming the
alert, the action, the recipient the message was addressed to, and a random link id. It
expires after MONITOR_ACTION_LINK_HOURS and works once: using it stores its link id
(alerts.models.ActionLinkUse, unique). Opening a link only shows a confirm page; the
action happens on that page's POST, so a link-preview bot that fetches it changes nothing.

`links()` builds a message's links; `read()` checks a token. The pages that take them are
alerts/action_link_pages.py.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core import signing

SALT = "alerts.action_links"
ACTIONS = {"acknowledge": "Acknowledge", "suppress": "Suppress 1 h"}
SUPPRESS_MINUTES = 60
SLACK = "slack"


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class Claim:
    """What a valid token says."""

    alert_id: int
    action: str
    recipient: str  # "slack", or "email:<address>"
    link_id: str

    @property
    def who(self) -> str:
        """Who acted, as the timeline names them."""
        if self.recipient.startswith("email:"):
            return self.recipient.removeprefix("email:")
        return "via Slack link"


class LinkRefused(Exception):
    """A token that cannot be used; status is the HTTP answer (400 tampered, 410 expired)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def email_recipient(address: str) -> str:
    return f"email:{address}"


def max_age_s() -> int:
    return settings.MONITOR_ACTION_LINK_HOURS * 3600


def token(alert_id: int, action: str, recipient: str) -> str:
    claim = {"a": alert_id, "x": action, "r": recipient, "n": secrets.token_hex(8)}
    return signing.dumps(claim, salt=SALT, compress=True)


def url(alert_id: int, action: str, recipient: str) -> str:
    return f"{settings.SITE_URL}/act/{token(alert_id, action, recipient)}/"


def carries_actions(alert_id: int | None, event: str) -> bool:
    """A firing, updated or escalated notice or a reminder carries the action links; a resolved
    notice and a test do not."""
    return alert_id is not None and event in ("firing", "updated", "reminder", "escalated")


def links(alert_id: int | None, event: str, alert_url: str, recipient: str) -> list[Link]:
    """A notification's links: acknowledge and suppress while it fires, and open the alert."""
    found = []
    if alert_id is not None and carries_actions(alert_id, event):
        found = [Link(label, url(alert_id, action, recipient)) for action, label in ACTIONS.items()]
    return [*found, Link("Open", alert_url)]


def read(value: str) -> Claim:
    """The claim of a token, or LinkRefused saying why not."""
    try:
        claim = signing.loads(value, salt=SALT, max_age=max_age_s())
    except signing.SignatureExpired:
        hours = settings.MONITOR_ACTION_LINK_HOURS
        raise LinkRefused(f"This link has expired: links work for {hours} h after they are sent.", 410) from None
    except signing.BadSignature:
        raise LinkRefused("This link is not valid: it was changed or cut short.", 400) from None
    try:
        found = Claim(int(claim["a"]), str(claim["x"]), str(claim["r"]), str(claim["n"]))
    except (KeyError, TypeError, ValueError):
        raise LinkRefused("This link is not valid: it was changed or cut short.", 400) from None
    if found.action not in ACTIONS:
        raise LinkRefused("This link is not valid: it names no action.", 400)
    return found
