"""One batch as the ingest API takes it, and the one HTTP POST that sends it (urllib only)."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass

USER_AGENT = "resilience-client/0.1"


class Batch:
    """Items serialized once with a fresh batch_id: a retry resends these exact bytes."""

    def __init__(self, items: list[tuple[str, dict]], instance: str) -> None:
        self.items = items
        self.instance = instance
        self.batch_id = uuid.uuid4().hex
        payload: dict = {"batch_id": self.batch_id, "instance": instance}
        for kind, item in items:
            payload.setdefault(kind, []).append(item)
        self.body = json.dumps(payload, separators=(",", ":")).encode()

    def halves(self) -> tuple[Batch, Batch]:
        middle = len(self.items) // 2
        return Batch(self.items[:middle], self.instance), Batch(self.items[middle:], self.instance)


@dataclass
class Answer:
    status: int  # 0 when no HTTP answer came: refused, reset, timed out
    retry_after: float | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def seconds(header: str | None) -> float | None:
    # The monitor sends delta-seconds; an HTTP date (which it never sends) is ignored.
    try:
        return max(0.0, float(header)) if header else None
    except ValueError:
        return None


def post(url: str, token: str, body: bytes, timeout: float) -> Answer:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", "User-Agent": USER_AGENT},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            return Answer(response.status)
    except urllib.error.HTTPError as error:
        detail = error.read(300).decode("utf-8", "replace")
        return Answer(error.code, seconds(error.headers.get("Retry-After")), detail)
    except (OSError, http.client.HTTPException, ValueError) as error:
        return Answer(0, None, str(error))
