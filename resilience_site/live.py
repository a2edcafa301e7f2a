"""The one broadcast module: what changed, as small deltas, to every open dashboard.

Callers publish after commit (`publish_ingest`, `publish_alert`). Changes are coalesced per
process: a flusher thread sends what gathered at most once every FLUSH_INTERVAL_S, so a
page gets at most ~4 messages a second however heavy the ingest. A delta carries ids and
the few fields a page patches in place (health, breaker, counts); pages re-fetch the rest
from the read API. A delta that would be large says "resync" instead.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import close_old_connections, connection

from alerts.models import Alert
from monitoring import outages
from monitoring.health import breaker_summaries, health, recent_figures
from monitoring.models import Function
from monitoring.outages import CACHE_ERRORS

from .ingest import Result

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 0.25
# Past this many changed functions or alerts a delta asks pages to re-fetch instead.
MAX_ROWS = 100
SEND_TIMEOUT_S = 5.0


def group_name() -> str:
    return "dashboard"


@dataclass
class Pending:
    services: set[int] = field(default_factory=set)
    queue_services: set[int] = field(default_factory=set)
    functions: set[int] = field(default_factory=set)
    alerts: set[int] = field(default_factory=set)
    calls: int = 0
    # time.time() of the earliest commit gathered here: the delta's age when it arrives.
    committed_at: float | None = None

    def __bool__(self) -> bool:
        return bool(self.services or self.functions or self.alerts)

    def note_commit(self) -> None:
        if self.committed_at is None:
            self.committed_at = time.time()


def function_rows(function_ids: list[int]) -> list[dict]:
    figures = recent_figures(function_ids)
    breakers = breaker_summaries(function_ids)
    # What health() weighs beyond the figures: gone quiet, or a rule holding against it.
    judged = {
        row[0]: row[1:]
        for row in Function.objects.filter(id__in=function_ids).values_list("id", "last_seen", "alerting")
    }
    rows = []
    for function_id in function_ids:
        breaker = breakers[function_id]
        last_seen, alerting = judged.get(function_id, (None, False))
        rows.append(
            {
                "id": function_id,
                "health": health(figures[function_id], breaker, last_seen, alerting),
                "breaker": breaker.state,
                "breaker_text": breaker.text(),
                # The fleet view's parts, for pages to word in the viewer's time zone.
                "breaker_count": getattr(breaker, breaker.state) if breaker.state else 0,
                "breaker_instances": breaker.instances,
                "breaker_since": breaker.since.isoformat() if breaker.since else None,
                "calls_5m": figures[function_id].calls,
                "error_rate_5m": figures[function_id].error_rate,
            }
        )
    return rows


def alert_rows(alert_ids: list[int]) -> list[dict]:
    return list(Alert.objects.filter(id__in=alert_ids).values("id", "state"))


def delta(pending: Pending) -> dict:
    """The message pages get: ids plus the fields they patch in place."""
    resync = len(pending.functions) > MAX_ROWS or len(pending.alerts) > MAX_ROWS
    return {
        "type": "delta",
        "committed_at": pending.committed_at,
        "sent_at": time.time(),
        "services": sorted(pending.services),
        "queue_services": sorted(pending.queue_services),
        "calls": pending.calls,
        "functions": [] if resync else function_rows(sorted(pending.functions)),
        "alerts": [] if resync else alert_rows(sorted(pending.alerts)),
        "resync": resync,
    }


def merge_deltas(older: dict, newer: dict) -> dict:
    """One delta saying what two said: rows by id (newer wins), counts added, oldest commit kept."""
    functions = {row["id"]: row for row in older["functions"]} | {row["id"]: row for row in newer["functions"]}
    alerts = {row["id"]: row for row in older["alerts"]} | {row["id"]: row for row in newer["alerts"]}
    commits = [at for at in (older["committed_at"], newer["committed_at"]) if at is not None]
    return {
        "type": "delta",
        "committed_at": min(commits) if commits else None,
        "sent_at": newer["sent_at"],
        "services": sorted(set(older["services"]) | set(newer["services"])),
        "queue_services": sorted(set(older["queue_services"]) | set(newer["queue_services"])),
        "calls": older["calls"] + newer["calls"],
        "functions": list(functions.values()),
        "alerts": list(alerts.values()),
        "resync": older["resync"] or newer["resync"],
    }


class Pacer:
    """Passes deltas to one socket at most every `interval` seconds, merging those that come sooner.

    Each publishing process already sends at most ~4 deltas a second; with several
    processes (WSGI workers) publishing, this keeps one page at ~4 a second all the same.
    """

    def __init__(self, send: Callable[[dict], Awaitable[None]], interval: float = FLUSH_INTERVAL_S) -> None:
        self.send = send
        self.interval = interval
        self.pending: dict | None = None
        self.last = 0.0
        self.timer: asyncio.TimerHandle | None = None

    async def offer(self, message: dict) -> None:
        if self.pending is not None:
            self.pending = merge_deltas(self.pending, message)
            return
        wait = self.last + self.interval - time.monotonic()
        if wait <= 0:
            self.last = time.monotonic()
            await self.send(message)
            return
        self.pending = message
        self.timer = asyncio.get_running_loop().call_later(wait, lambda: asyncio.ensure_future(self.flush()))

    async def flush(self) -> None:
        message, self.pending, self.timer = self.pending, None, None
        if message is not None:
            self.last = time.monotonic()
            await self.send(message)

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.pending = self.timer = None


class Publisher:
    """Gathers changes and sends them from one thread, at most every `interval` seconds."""

    def __init__(self, interval: float = FLUSH_INTERVAL_S) -> None:
        self.interval = interval
        self.changed = threading.Condition()
        self.pending = Pending()
        self.thread: threading.Thread | None = None
        self.own_loop: asyncio.AbstractEventLoop | None = None
        # The loop the dashboard consumers of this process run on (see listening_on).
        self.consumer_loop: asyncio.AbstractEventLoop | None = None
        self.sent = 0
        self.busy = False  # a taken delta is being built or sent

    def listening_on(self, loop: asyncio.AbstractEventLoop) -> None:
        self.consumer_loop = loop

    def has_listeners(self) -> bool:
        # The in-memory layer only reaches consumers in this process; with none, skip the work.
        if self.consumer_loop is not None and self.consumer_loop.is_running():
            return True
        return not isinstance(get_channel_layer(), InMemoryChannelLayer)

    def add(self, **changes: Iterable[int]) -> None:
        if not self.has_listeners():
            return
        with self.changed:
            for name, ids in changes.items():
                getattr(self.pending, name).update(ids)
            self.pending.note_commit()
            self.start()
            self.changed.notify_all()  # the thread, and anyone waiting in settle()

    def add_calls(self, service_id: int, calls: int, queues: bool) -> None:
        if not self.has_listeners():
            return
        with self.changed:
            self.pending.services.add(service_id)
            if queues:
                self.pending.queue_services.add(service_id)
            self.pending.calls += calls
            self.pending.note_commit()
            self.start()
            self.changed.notify_all()  # the thread, and anyone waiting in settle()

    def start(self) -> None:
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(target=self.run, name="live-publisher", daemon=True)
            self.thread.start()

    def take(self) -> Pending:
        with self.changed:
            while not self.pending:
                self.changed.wait()
            taken, self.pending = self.pending, Pending()
            self.busy = True
            return taken

    def settle(self, timeout: float = 5.0) -> bool:
        """Wait until every gathered change is sent or dropped; False if that takes longer than `timeout`.

        Its reads must not overlap a database being emptied (tests), or a shutdown.
        """
        deadline = time.monotonic() + timeout
        with self.changed:
            while self.pending or self.busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(left)
        return True

    def run(self) -> None:
        last = 0.0
        while True:
            # Wait out the interval first, so changes arriving meanwhile join this delta.
            first = self.take()
            time.sleep(max(0.0, last + self.interval - time.monotonic()))
            with self.changed:
                pending, self.pending = self.pending, Pending()
            self.merge(first, pending)
            last = time.monotonic()
            try:
                self.flush(first)
            except CACHE_ERRORS as error:
                outages.warn(log, "channel layer", f"dashboard deltas are dropped: the channel layer is down ({error})")
            except Exception:
                log.exception("could not publish a dashboard delta")
            finally:
                with self.changed:
                    self.busy = False
                    self.changed.notify_all()

    @staticmethod
    def merge(into: Pending, other: Pending) -> None:
        for name in ("services", "queue_services", "functions", "alerts"):
            getattr(into, name).update(getattr(other, name))
        into.calls += other.calls
        if into.committed_at is None:
            into.committed_at = other.committed_at

    def flush(self, pending: Pending) -> None:
        close_old_connections()
        try:
            message = delta(pending)
        finally:
            # A connection left open in this thread would outlive the request that made it.
            connection.close()
        self.send({"type": "dashboard.delta", "delta": message})
        self.sent += 1

    def send(self, event: dict) -> None:
        layer = get_channel_layer()
        coroutine = layer.group_send(group_name(), event)
        loop = self.consumer_loop
        if loop is not None and loop.is_running():
            asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=SEND_TIMEOUT_S)
            return
        if isinstance(layer, InMemoryChannelLayer):
            coroutine.close()
            return
        if self.own_loop is None:
            self.own_loop = asyncio.new_event_loop()
        self.own_loop.run_until_complete(asyncio.wait_for(coroutine, SEND_TIMEOUT_S))


publisher = Publisher()


def listening_on(loop: asyncio.AbstractEventLoop) -> None:
    """Called by the dashboard consumer: deltas for the in-memory layer go out on this loop."""
    publisher.listening_on(loop)


def publish_ingest(service_id: int, result: Result) -> None:
    """After a committed batch: its service has news; flipped breakers are sent as rows."""
    accepted = result.answer.get("accepted", {})
    publisher.add_calls(service_id, accepted.get("calls", 0), queues=bool(accepted.get("queues")))
    flipped = {flip.function_id for flip in result.flips}
    if flipped:
        publisher.add(functions=flipped)


def publish_alert(alert_id: int) -> None:
    """After an alert changed (state, timeline entry): pages showing it re-fetch it."""
    publisher.add(alerts={alert_id})
