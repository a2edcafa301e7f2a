"""The one broadcast module: what changed, as small deltas, to every open dashboard.

Callers publish after commit (`publish_ingest`, `publish_alert`). Changes are coalesced per
process: a flusher thread sends what gathered at most once every FLUSH_INTERVAL_S, so a
page gets at most ~4 messages a second however heavy the ingest. A delta carries ids and
the few fields a page patches in place (health, breaker, counts); pages re-fetch the rest
from the read API. A delta that would be large says "resync" instead.

Each page is sent only its projects' deltas. A flush still builds ONE delta (the same reads
however many pages are open), then splits it by project: each project's part goes to that
project's group (`project_group(id)`), the whole to the installation's group
(`group_name()`), which the owner's pages join. A page joins the group of each project its
person may see (resilience_site/consumers.py), so a flush costs one group send per project
that changed plus one, whatever the number of pages. An alert belongs to the project of the
service of its name; one whose service is no project's goes to every group (the alerts it
names are listed to everyone until the alerts floor is scoped).
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
from django.db.models import OuterRef, Subquery

from alerts.models import Alert
from monitoring import outages
from monitoring.health import breaker_summaries, health, recent_figures
from monitoring.models import Function, Project, Service
from monitoring.outages import CACHE_ERRORS

from .ingest import Result

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 0.25
# Past this many changed functions or alerts a delta asks pages to re-fetch instead.
MAX_ROWS = 100
SEND_TIMEOUT_S = 5.0


def group_name() -> str:
    """The whole installation's deltas: the owner's pages."""
    return "dashboard"


def project_group(project_id: int) -> str:
    """One project's part of each delta: the pages of the people who may see it."""
    return f"dashboard.project.{project_id}"


@dataclass
class Pending:
    services: set[int] = field(default_factory=set)
    queue_services: set[int] = field(default_factory=set)
    functions: set[int] = field(default_factory=set)
    alerts: set[int] = field(default_factory=set)
    calls: int = 0
    # The calls by service, so each project's part counts its own.
    service_calls: dict[int, int] = field(default_factory=dict)
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
    # And the project each belongs to, to split the delta by (not sent: delta() drops it).
    judged = {
        row[0]: row[1:]
        for row in Function.objects.filter(id__in=function_ids).values_list(
            "id", "last_seen", "alerting", "service__project_id"
        )
    }
    rows = []
    for function_id in function_ids:
        breaker = breakers[function_id]
        last_seen, alerting, project_id = judged.get(function_id, (None, False, None))
        rows.append(
            {
                PROJECT: project_id,
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
    """Each alert's id and state, and the project of its service (None: no project's)."""
    projects = Service.objects.filter(name=OuterRef("service")).values("project_id")[:1]
    return list(
        Alert.objects.filter(id__in=alert_ids).annotate(**{PROJECT: Subquery(projects)}).values("id", "state", PROJECT)
    )


# A row's project, kept while the delta is split and dropped before it is sent.
PROJECT = "_project"


def delta(pending: Pending) -> dict:
    """The message the owner's pages get (ids plus the fields they patch in place), its rows
    still marked with their project: parts() splits it and drops the marks."""
    resync = len(pending.functions) > MAX_ROWS or len(pending.alerts) > MAX_ROWS
    changed = pending.services | pending.queue_services
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
        PROJECT: dict(Service.objects.filter(id__in=changed).values_list("id", "project_id")) if changed else {},
        "service_calls": dict(pending.service_calls),
    }


def parts(whole: dict) -> dict[str | int, dict]:
    """The delta split for sending: {None: the whole (the owner's), project id: its part}.

    A part names only its project's services, functions and alerts and counts its services'
    calls. Every project gets a part when an alert of no project's service is in it, and for
    a resync (which names no rows, so no project: it is rare and carries no ids).
    """
    service_projects: dict[int, int] = whole[PROJECT]
    service_calls: dict[int, int] = whole["service_calls"]
    unowned = [row for row in whole["alerts"] if row[PROJECT] is None]
    named = set(service_projects.values())
    named |= {row[PROJECT] for row in whole["functions"] + whole["alerts"] if row[PROJECT] is not None}
    if unowned or whole["resync"]:
        named |= set(Project.objects.values_list("id", flat=True))
    out: dict[str | int, dict] = {}
    for project_id in sorted(named):
        mine = {service for service, project in service_projects.items() if project == project_id}
        out[project_id] = clean(
            {
                **whole,
                "services": [service for service in whole["services"] if service in mine],
                "queue_services": [service for service in whole["queue_services"] if service in mine],
                "calls": sum(service_calls.get(service, 0) for service in mine),
                "functions": [row for row in whole["functions"] if row[PROJECT] == project_id],
                "alerts": [row for row in whole["alerts"] if row[PROJECT] in (project_id, None)],
            }
        )
    out[None] = clean(whole)
    return out


def clean(message: dict) -> dict:
    """The message as sent: without the project marks."""
    dropped = {key: value for key, value in message.items() if key not in (PROJECT, "service_calls")}
    for name in ("functions", "alerts"):
        dropped[name] = [{key: value for key, value in row.items() if key != PROJECT} for row in message[name]]
    return dropped


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
            self.pending.service_calls[service_id] = self.pending.service_calls.get(service_id, 0) + calls
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
        for service_id, calls in other.service_calls.items():
            into.service_calls[service_id] = into.service_calls.get(service_id, 0) + calls
        if into.committed_at is None:
            into.committed_at = other.committed_at

    def flush(self, pending: Pending) -> None:
        close_old_connections()
        try:
            split = parts(delta(pending))
        finally:
            # A connection left open in this thread would outlive the request that made it.
            connection.close()
        self.send(
            [
                (group_name() if project_id is None else project_group(project_id), message)
                for project_id, message in split.items()
            ]
        )
        self.sent += 1

    def send(self, messages: list[tuple[str, dict]]) -> None:
        """Each delta to its group, in one trip to the loop that sends them."""
        layer = get_channel_layer()

        async def send_all() -> None:
            for group, message in messages:
                await layer.group_send(group, {"type": "dashboard.delta", "delta": message})

        coroutine = send_all()
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
