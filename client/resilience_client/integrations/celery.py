"""Celery: task outcomes as calls, and each queue's depth, in-flight count and oldest age.

    app = Celery("shop", broker="redis://...")
    stamp_messages()                       # every process that sends tasks
    report_tasks(app)                      # workers: each task run is a call
    QueueMonitor(app, interval=15).start() # in ONE process: the queues, every 15 s

What is measured how:

- depth: the messages waiting. On Redis, the lengths of the queue's lists (one per
  priority level); on another broker, the count its passive queue declare answers.
- in flight: messages taken from the queue and not finished. in_flight="inspect" (the
  default) asks the workers (`inspect().active()` and `.reserved()`: running and
  prefetched tasks) and counts them by routing key; in_flight="unacked" reads the Redis
  transport's `unacked` hash instead (delivered and not acknowledged: prefetched tasks,
  and running ones under acks_late), with no round trip to the workers.
- oldest age: Redis only. The message that will be delivered next on each priority
  list (the list's tail) is read, and its age is now minus its `published_at` header,
  which stamp_messages() adds when a task is sent (Celery's messages carry no time of
  their own). Messages sent without it leave the age unknown (not reported).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from celery import Celery, Task, signals
from celery.exceptions import SoftTimeLimitExceeded
from kombu import Connection
from kombu.exceptions import ChannelError, OperationalError

from ..config import reporter_or_default
from ..monitored import outcome_of
from ..reporter import Reporter

log = logging.getLogger("resilience_client")

# The header stamp_messages() adds: when the task was sent, in epoch seconds.
PUBLISHED_AT = "published_at"


# Publishing: a timestamp on each message, for the age of the oldest.


def _stamp(headers: dict | None = None, **_: object) -> None:
    if headers is not None:
        headers.setdefault(PUBLISHED_AT, time.time())


def stamp_messages() -> None:
    """Add a `published_at` header (epoch seconds) to every task message this process sends."""
    signals.before_task_publish.connect(_stamp, weak=False, dispatch_uid="resilience_client.stamp")


# Task runs as calls.


class TaskReporter:
    """Reports every run of a task of `app` as a call of the task's name (or name(task)).

    A run that ends in a retry (self.retry(), autoretry_for) is a failure with the class
    name of the exception retried for, and no retries; the run that ends the task
    (success, or failure for good) carries the retries the task took (request.retries).
    So, as for tenacity, each attempt is a call and the retries add up. A soft time
    limit (SoftTimeLimitExceeded) or any TimeoutError is a timeout. A run the worker
    could not finish (a hard time limit, a killed process) is not reported; nor are
    Ignore and Reject. Durations: task_prerun to task_postrun, in the worker.
    """

    def __init__(
        self,
        app: Celery | None = None,
        reporter: Reporter | None = None,
        name: Callable[[Task], str | None] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.app = app
        self.reporter = reporter
        self.name = name
        self.clock = clock
        self._lock = threading.Lock()
        self._started: dict[str, list[float]] = {}  # a stack: an eager retry runs inside its task
        self._uid = f"resilience_client.tasks.{id(self)}"

    def connect(self) -> TaskReporter:
        signals.task_prerun.connect(self._prerun, weak=False, dispatch_uid=self._uid)
        signals.task_postrun.connect(self._postrun, weak=False, dispatch_uid=self._uid)
        return self

    def disconnect(self) -> None:
        signals.task_prerun.disconnect(self._prerun, dispatch_uid=self._uid)
        signals.task_postrun.disconnect(self._postrun, dispatch_uid=self._uid)

    def _ours(self, task: Task | None) -> bool:
        return task is not None and (self.app is None or task.app is self.app)

    def _prerun(self, sender: Task | None = None, task_id: str | None = None, **_: object) -> None:
        if self._ours(sender) and task_id:
            with self._lock:
                self._started.setdefault(task_id, []).append(self.clock())

    def _postrun(
        self,
        sender: Task | None = None,
        task_id: str | None = None,
        retval: object = None,
        state: str | None = None,
        **_: object,
    ) -> None:
        if not self._ours(sender) or not task_id:
            return
        with self._lock:
            stack = self._started.get(task_id)
            started = stack.pop() if stack else None
            if stack == []:
                del self._started[task_id]
        if started is None:
            return
        elapsed_ms = max(0.0, (self.clock() - started) * 1000.0)
        if state == "SUCCESS":
            error, retries = None, _retries(sender)
        elif state == "FAILURE" and isinstance(retval, Exception):
            error, retries = retval, _retries(sender)
        elif state == "RETRY":
            reason = getattr(retval, "exc", None)
            error, retries = (reason if isinstance(reason, Exception) else retval), 0
        else:
            return  # IGNORED, REJECTED, or the task raised something not an Exception
        self._record(sender, elapsed_ms, error, retries)

    def _record(self, task: Task, elapsed_ms: float, error: object, retries: int) -> None:
        reporter = reporter_or_default(self.reporter)
        function = self.name(task) if self.name is not None else task.name
        if reporter is None or not function:
            return
        if isinstance(error, SoftTimeLimitExceeded):
            outcome = "timeout"
        else:
            outcome = outcome_of(error if isinstance(error, BaseException) else None)
        reporter.record_call(
            function,
            elapsed_ms,
            outcome,
            error_type=type(error).__name__ if error is not None else None,
            retries=retries,
        )


def _retries(task: Task) -> int:
    try:
        return int(task.request.retries or 0)
    except (AttributeError, TypeError, ValueError):
        return 0


def report_tasks(
    app: Celery | None = None, reporter: Reporter | None = None, name: Callable[[Task], str | None] | None = None
) -> TaskReporter:
    """Report every task run (of `app`, or of every app when None) as a call; see TaskReporter."""
    return TaskReporter(app, reporter, name).connect()


# Queues.


@dataclass
class QueueSnapshot:
    queue: str
    depth: int
    in_flight: int
    oldest_age_s: float | None
    at: float  # when the broker was asked (epoch seconds): the snapshot's time on the monitor


class QueueMonitor:
    """Measures `queues` (default: every queue `app` knows, app.amqp.queues) on `app`'s
    broker and reports each one's depth, in-flight count and oldest age, every `interval`
    seconds once started. Run it in one process only (beat, a sidecar, the web app):
    every process that runs one reports the same queues again.
    """

    def __init__(
        self,
        app: Celery,
        queues: Iterable[str] | None = None,
        interval: float = 15.0,
        reporter: Reporter | None = None,
        in_flight: str | None = "inspect",
        inspect_timeout: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if in_flight not in ("inspect", "unacked", None):
            raise ValueError(f"in_flight must be 'inspect', 'unacked' or None, not {in_flight!r}")
        self.app = app
        self.queues = list(queues) if queues is not None else None
        self.interval = interval
        self.reporter = reporter
        self.in_flight = in_flight
        self.inspect_timeout = inspect_timeout
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned = False
        # What the broker's client raises when the broker is down or refuses: tried again next time.
        with app.connection_for_read() as connection:
            self._broker_errors = (*connection.connection_errors, *connection.channel_errors, OperationalError, OSError)

    def names(self) -> list[str]:
        return self.queues if self.queues is not None else list(self.app.amqp.queues)

    def collect(self) -> list[QueueSnapshot]:
        """Measure every queue once, now (raises what the broker raises)."""
        names = self.names()
        routes = self._routes(names)
        at = time.time()
        with self.app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1)
            redis = _RedisQueues.of(connection.default_channel)
            depths = {queue: self._depth(connection, redis, queue) for queue in names}
            ages = {queue: self._oldest_age(redis, queue) for queue in names}
            held = self._unacked(redis, routes) if self.in_flight == "unacked" else Counter()
        if self.in_flight == "inspect":
            held = self._inspected(routes)
        return [QueueSnapshot(queue, depths[queue], held[queue], ages[queue], at) for queue in names]

    def report(self) -> list[QueueSnapshot]:
        """Measure every queue once and record the snapshots on the reporter."""
        snapshots = self.collect()
        reporter = reporter_or_default(self.reporter)
        if reporter is not None:
            for snapshot in snapshots:
                reporter.record_queue(
                    snapshot.queue,
                    snapshot.depth,
                    in_flight=snapshot.in_flight,
                    oldest_age_s=snapshot.oldest_age_s,
                    ts=snapshot.at,
                )
        return snapshots

    def start(self) -> QueueMonitor:
        """Report now and every `interval` seconds, from a daemon thread, until stop()."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="resilience-queues", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.report()
                self._warned = False
            except self._broker_errors as error:
                if not self._warned:
                    log.warning("resilience_client: could not measure the Celery queues: %s", error)
                    self._warned = True
            self._stop.wait(self.interval)

    # Measuring.

    def _routes(self, names: list[str]) -> dict[str, str]:
        """Routing key -> queue name, to count workers' tasks (which carry only the routing key)."""
        routes = {}
        for queue in names:
            declared = self.app.amqp.queues.get(queue)
            routes[getattr(declared, "routing_key", None) or queue] = queue
        for queue in names:
            routes.setdefault(queue, queue)
        return routes

    def _depth(self, connection: Connection, redis: _RedisQueues | None, queue: str) -> int:
        if redis is not None:
            # Read directly: kombu's passive declare misses a queue under a global_keyprefix.
            return sum(redis.client.llen(redis.key("LLEN", key)) for key in redis.lists(queue))
        # A channel of its own: a broker may close the channel a missing queue was asked on.
        channel = connection.channel()
        try:
            return int(channel.queue_declare(queue=queue, passive=True).message_count)
        except ChannelError:
            return 0  # not declared yet: nothing was ever sent to it
        finally:
            channel.close()

    def _oldest_age(self, redis: _RedisQueues | None, queue: str) -> float | None:
        if redis is None:
            return None  # only the Redis transport's messages can be read without taking them
        stamps = []
        for key in redis.lists(queue):
            tail = redis.client.lindex(redis.key("LINDEX", key), -1)  # the next to be delivered
            if tail is None:
                continue
            stamp = _published_at(tail)
            if stamp is None:
                return None  # a message without the stamp: its age is unknown
            stamps.append(stamp)
        if not stamps:
            return None
        return max(0.0, self.clock() - min(stamps))

    def _unacked(self, redis: _RedisQueues | None, routes: dict[str, str]) -> Counter[str]:
        held: Counter[str] = Counter()
        if redis is None:
            return held
        for raw in redis.client.hvals(redis.key("HVALS", redis.unacked_key)):
            try:
                _, _, routing_key = json.loads(raw)
            except (ValueError, TypeError):
                continue
            if routing_key in routes:
                held[routes[routing_key]] += 1
        return held

    def _inspected(self, routes: dict[str, str]) -> Counter[str]:
        inspect = self.app.control.inspect(timeout=self.inspect_timeout)
        held: Counter[str] = Counter()
        for answer in (inspect.active() or {}, inspect.reserved() or {}):
            for tasks in answer.values():
                for task in tasks:
                    routing_key = (task.get("delivery_info") or {}).get("routing_key")
                    if routing_key in routes:
                        held[routes[routing_key]] += 1
        return held


@dataclass
class _RedisQueues:
    """What the Redis transport's channel knows of where it keeps a queue's messages."""

    client: Any
    priority_steps: list[int]
    sep: str
    prefix: str
    unacked_key: str

    @classmethod
    def of(cls, channel: object) -> _RedisQueues | None:
        client = getattr(channel, "client", None)
        steps = getattr(channel, "priority_steps", None)
        if client is None or steps is None or not hasattr(client, "lindex"):
            return None  # not the Redis transport
        return cls(
            client,
            list(steps),
            getattr(channel, "sep", "\x06\x16"),
            getattr(channel, "global_keyprefix", "") or "",
            getattr(channel, "unacked_key", "unacked"),
        )

    def lists(self, queue: str) -> list[str]:
        """The queue's lists, one per priority level, as kombu names them."""
        return [f"{queue}{self.sep}{step}" if step else queue for step in self.priority_steps]

    def key(self, command: str, key: str) -> str:
        """The key to pass: kombu's client adds the global_keyprefix itself, but only for the
        commands kombu uses (LLEN, not LINDEX or HVALS)."""
        prefixed_by_client = command in getattr(self.client, "PREFIXED_SIMPLE_COMMANDS", ())
        return key if prefixed_by_client or not self.prefix else self.prefix + key


def _published_at(raw: bytes | str) -> float | None:
    try:
        stamp = json.loads(raw).get("headers", {}).get(PUBLISHED_AT)
        return float(stamp) if stamp is not None else None
    except (ValueError, TypeError, AttributeError):
        return None
