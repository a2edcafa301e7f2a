"""Channel secrets at rest: Fernet tokens under the keys of MONITOR_SECRET_KEYS.

The first key encrypts; every key decrypts (MultiFernet), so a new key goes first, the
`rotate_channel_secrets` command re-encrypts every stored secret with it, and the old key
can then be dropped. Without MONITOR_SECRET_KEYS one key is derived from SECRET_KEY
(`derived_key`), which is what the embedded default runs on.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

# Told apart from the key a future version may derive another way.
DERIVATION_LABEL = b"resilience-monitor channel secrets v1:"


class SecretUnreadable(Exception):
    """A stored secret none of MONITOR_SECRET_KEYS decrypts (its key was dropped too early)."""


def derived_key(secret_key: str) -> str:
    """The Fernet key used when MONITOR_SECRET_KEYS is empty: SHA-256 of a label and SECRET_KEY."""
    digest = hashlib.sha256(DERIVATION_LABEL + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def keys() -> list[str]:
    return list(settings.MONITOR_SECRET_KEYS) or [derived_key(settings.SECRET_KEY)]


def cipher() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys()])


def encrypt(value: str) -> str:
    return cipher().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return cipher().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("a stored channel secret cannot be decrypted with MONITOR_SECRET_KEYS") from None


def rotate(token: str) -> str:
    """The same secret, encrypted again with the first key."""
    try:
        return cipher().rotate(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("a stored channel secret cannot be decrypted with MONITOR_SECRET_KEYS") from None
