"""The demo reporter: three services whose functions drift between healthy and failing.

It is built on resilience_client, the way a real service would report: a Reporter per
instance, @monitored, CircuitBreaker, retry and ConcurrencyLimit. The calls are
simulated: each one's duration is drawn and added to a simulated clock instead of
slept, so ~25 calls a second cost next to nothing.

Every CYCLE_S seconds the same story plays (t = seconds into the cycle):
- payments: charge_card fails ~55 % for t in [30, 180) (502s, reset connections, read
  timeouts: the function page's "Top errors" shows each); refund is slow (p95 > 2 s) in [200, 290).
- ai-gateway: invokeGroq fails on two of four instances in [90, 240), so their breakers
  open, reject, try half-open and close again once it is over; invokeOpenAI is slow in
  [150, 240); embed's concurrency limit of 10 has 9 slots taken on one instance in
  [30, 400), longer than the five minutes "Concurrency near its limit" waits.
- notifications: the mail relay drops 80 % of send_email attempts in [100, 250), so
  about half the calls fail even after retries, while email_queue backs up and
  dead-letters; the queue drains after, and its dead letters are redriven at t = 360.

Under the default rules this fires, within two minutes of a start, "High error rate"
(charge_card) and "Breaker open" (invokeGroq), later "Slow calls (p95)", "Dead letters
growing", "Breaker flapping" and, about six minutes in, "Concurrency near its limit"
(embed), and resolves each of them later in the cycle.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from monitoring.models import IngestToken, Service
from resilience_client import CallTimeout, CircuitBreaker, ConcurrencyLimit, LimitFull, Reporter, monitored, retry
from resilience_client.errors import Rejected
from resilience_client.reporter import close_all

log = logging.getLogger(__name__)

# Long enough that a 5-minute window can hold none of the last failing phase, so alerts resolve.
CYCLE_S = 480
TICK_S = 0.5
QUEUE_EVERY_S = 2.0


class SimulatedFailure(Exception):
    """A failure the demo's simulated dependencies raise. The client reports each by its
    class name (error_type), so these are named as the libraries a service uses name theirs;
    Python's own ConnectionResetError and ConnectionRefusedError are raised as they are."""


class BadGateway(SimulatedFailure):
    """HTTP 502 from an upstream."""


class ServiceUnavailable(SimulatedFailure):
    """HTTP 503 from an upstream."""


class InternalServerError(SimulatedFailure):
    """HTTP 500 from an upstream."""


class ReadTimeout(SimulatedFailure, TimeoutError):
    """No answer in time: a TimeoutError, so it is reported as a timeout."""


class RateLimitError(SimulatedFailure):
    """HTTP 429 from an upstream."""


class SMTPServerDisconnected(SimulatedFailure):
    pass


# What the demo catches of the calls it makes: their outcome is reported, the demo carries on.
RAISED = (SimulatedFailure, ConnectionError, Rejected, CallTimeout)


def around(median_ms: float, spread: float = 0.35) -> float:
    return random.lognormvariate(math.log(median_ms), spread)


def chance(p: float) -> bool:
    return random.random() < p


def within(t: float, start: float, end: float) -> bool:
    return start <= t < end


# One draw per call: (duration in ms, the exception it ends with or None).
Draw = tuple[float, Exception | None]


def charge_card(t: float, instance: int) -> Draw:
    if chance(0.55 if within(t, 30, 180) else 0.01):
        # The card processor's outage, as a client sees one: mostly 502s, some dropped
        # connections, some answers that never come.
        kind = random.random()
        if kind < 0.15:
            return 5000.0, ReadTimeout("card processor: no answer in 5 s")
        if kind < 0.4:
            return around(60), ConnectionResetError("connection reset by peer")
        return around(900), BadGateway("card processor answered 502")
    return around(180), None


def refund(t: float, instance: int) -> Draw:
    if within(t, 200, 290) and chance(0.4):
        return around(3000, 0.25), None
    return around(250), (BadGateway("refund declined upstream") if chance(0.01) else None)


def invoke_groq(t: float, instance: int) -> Draw:
    if instance < 2 and within(t, 90, 240) and chance(0.85):
        if chance(0.2):
            return around(30), ConnectionRefusedError("groq refused the connection")
        return around(1500), ServiceUnavailable("groq answered 503")
    return around(600), (ServiceUnavailable("groq answered 503") if chance(0.02) else None)


def invoke_openai(t: float, instance: int) -> Draw:
    if within(t, 150, 240) and chance(0.45):
        duration = around(3500, 0.4)
        if duration > 8000:
            return 8000.0, CallTimeout("invokeOpenAI took over 8 s")
        return duration, None
    return around(900), (RateLimitError("429 from provider") if chance(0.05) else None)


def embed(t: float, instance: int) -> Draw:
    return around(40), None


def send_email(t: float, instance: int) -> Draw:
    if chance(0.8 if within(t, 100, 250) else 0.01):
        if chance(0.1):
            return around(20), ConnectionRefusedError("relay refused the connection")
        return around(400), SMTPServerDisconnected("relay closed the connection")
    return around(120), None


def send_sms(t: float, instance: int) -> Draw:
    return around(300), (InternalServerError("sms provider answered 500") if chance(0.02) else None)


def embed_slots_held(t: float, instance: int) -> int:
    """Slots of embed's limit of 10 that other requests hold when a call comes.

    Nine of ten: calls still get the last slot, and the gauge reads 0.9 between them.
    """
    if instance == 0 and within(t, 30, 400):
        return 9
    return random.randint(0, 4)


@dataclass
class FunctionPlan:
    name: str
    per_second: float  # calls per second on each instance
    draw: Callable[[float, int], Draw]
    retry_on: tuple[type[Exception], ...] = ()
    breaker: bool = False
    limit: int = 0


@dataclass
class ServicePlan:
    name: str
    instances: list[str]
    functions: list[FunctionPlan]
    queue: bool = False


PLANS = [
    ServicePlan(
        "payments",
        ["checkout-7f9c", "checkout-2b1d", "checkout-91aa"],
        [FunctionPlan("charge_card", 1.7, charge_card), FunctionPlan("refund", 0.4, refund)],
    ),
    ServicePlan(
        "ai-gateway",
        ["gateway-a1", "gateway-b2", "gateway-c3", "gateway-d4"],
        [
            FunctionPlan("invokeGroq", 1.0, invoke_groq, breaker=True),
            FunctionPlan("invokeOpenAI", 0.8, invoke_openai, retry_on=(RateLimitError,)),
            FunctionPlan("embed", 1.5, embed, limit=10),
        ],
    ),
    ServicePlan(
        "notifications",
        ["notifier-1", "notifier-2", "notifier-3"],
        [
            FunctionPlan("send_email", 1.3, send_email, retry_on=(SMTPServerDisconnected,)),
            FunctionPlan("send_sms", 0.7, send_sms),
        ],
        queue=True,
    ),
]
SERVICE_NAMES = [plan.name for plan in PLANS]


class SimulatedClock:
    """Real time plus the time simulated calls pretended to spend."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.perf_counter() + self.offset

    def sleep(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class EmailQueue:
    """email_queue: 8 messages/s in; sending falls behind while the mail relay fails."""

    depth: float = 20.0
    dead_letter: int = 0
    send_rate: float = 20.0
    last_t: float = 0.0

    def step(self, t: float, dt: float) -> None:
        backlog = within(t, 100, 250)
        self.send_rate = 2.0 if backlog else 20.0
        self.depth = max(0.0, self.depth + (8.0 - self.send_rate) * dt)
        if backlog and chance(0.5 * dt):
            self.dead_letter += 1
        if self.last_t < 360 <= t:
            self.depth += self.dead_letter  # redriven: dead letters go back to the queue
            self.dead_letter = 0
        self.last_t = t

    def report(self, reporter: Reporter) -> None:
        depth = round(self.depth)
        reporter.record_queue(
            "email_queue",
            depth=depth,
            in_flight=min(depth, 4),
            dead_letter=self.dead_letter,
            oldest_age_s=round(depth / self.send_rate, 1),  # first in, first out
        )


@dataclass
class Instance:
    """One simulated instance of a service: its reporter, clock and wrapped functions."""

    index: int
    reporter: Reporter
    clock: SimulatedClock = field(default_factory=SimulatedClock)
    calls: dict[str, Callable[[float], None]] = field(default_factory=dict)
    limits: dict[str, ConcurrencyLimit] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)

    def wrap(self, plan: FunctionPlan) -> None:
        def simulated(t: float) -> None:
            duration_ms, error = plan.draw(t, self.index)
            self.clock.sleep(duration_ms / 1000.0)
            if error is not None:
                raise error

        call: Callable = simulated
        if plan.retry_on:
            call = retry(attempts=3, base_delay=0.2, max_delay=2.0, retry_on=plan.retry_on, sleep=self.clock.sleep)(
                call
            )
        if plan.limit:
            self.limits[plan.name] = ConcurrencyLimit(plan.name, plan.limit, reporter=self.reporter)
            call = self.limits[plan.name](call)
        if plan.breaker:
            call = CircuitBreaker(plan.name, failure_threshold=5, reset_timeout=20.0, reporter=self.reporter)(call)
        self.calls[plan.name] = monitored(plan.name, reporter=self.reporter, clock=self.clock)(call)

    def call(self, name: str, t: float) -> None:
        try:
            self.calls[name](t)
        except RAISED:
            pass  # the outcome is reported; the demo carries on

    def load(self, t: float) -> None:
        """Hold as many slots of each limit as other requests would: calls get what is left."""
        for name, limit in self.limits.items():
            target = embed_slots_held(t, self.index)
            while self.held.get(name, 0) > target:
                limit.release()
                self.held[name] -= 1
            while self.held.get(name, 0) < target:
                try:
                    limit.acquire()
                except LimitFull:
                    break
                self.held[name] = self.held.get(name, 0) + 1


class Demo:
    """Runs the plans of the services it has tokens for against a monitor at `url`."""

    def __init__(self, url: str, tokens: dict[str, str], rate: float = 1.0, start_at: float = 0.0) -> None:
        self.rate = rate
        self.start_at = start_at
        self.plans = [plan for plan in PLANS if plan.name in tokens]
        self.instances: dict[str, list[Instance]] = {}
        for plan in self.plans:
            self.instances[plan.name] = [
                self.instance(index, Reporter(url, tokens[plan.name], instance=name), plan)
                for index, name in enumerate(plan.instances)
            ]
        self.queue = EmailQueue()
        self.stop = threading.Event()

    @staticmethod
    def instance(index: int, reporter: Reporter, plan: ServicePlan) -> Instance:
        instance = Instance(index, reporter)
        for function in plan.functions:
            instance.wrap(function)
        return instance

    def tick(self, t: float, dt: float) -> None:
        for plan in self.plans:
            for instance in self.instances[plan.name]:
                instance.load(t)
                for function in plan.functions:
                    # On average per_second * rate calls a second, spread over the ticks.
                    for _ in range(int(function.per_second * self.rate * dt + random.random())):
                        instance.call(function.name, t)
            if plan.queue:
                self.queue.step(t, dt)

    def report_queue(self) -> None:
        for plan in self.plans:
            if plan.queue:
                self.queue.report(self.instances[plan.name][0].reporter)

    def run(self, seconds: float | None = None) -> None:
        started = previous = time.monotonic()
        next_queue_report = started
        while not self.stop.is_set():
            now = time.monotonic()
            if seconds is not None and now - started >= seconds:
                break
            self.tick((self.start_at + now - started) % CYCLE_S, now - previous)
            previous = now
            if now >= next_queue_report:
                self.report_queue()
                next_queue_report = now + QUEUE_EVERY_S
            self.stop.wait(TICK_S)

    def close(self, timeout: float = 5.0) -> dict[str, int]:
        """Stop, flush every reporter, and return their summed stats."""
        self.stop.set()
        reporters = [instance.reporter for instances in self.instances.values() for instance in instances]
        close_all(reporters, timeout)
        totals: dict[str, int] = {}
        for reporter in reporters:
            for key, value in reporter.stats().items():
                totals[key] = totals.get(key, 0) + value
        return totals

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="demo", daemon=True)
        thread.start()
        return thread


# The embedded default: demo services and their tokens on this install.


def embedded_tokens(path: str | None = None) -> dict[str, str]:
    """Create the demo services (if missing) and an ingest token for each.

    Tokens are kept in `path` and reused while they stay valid, so restarts do not
    pile up new tokens.
    """
    saved: dict[str, str] = {}
    if path:
        try:
            with open(path) as file:
                saved = json.load(file)
        except (OSError, ValueError):
            saved = {}
    tokens = {}
    for name in SERVICE_NAMES:
        service, _ = Service.objects.get_or_create(name=name)
        found = IngestToken.find(saved.get(name, ""))
        if found is not None and found.service_id == service.id:
            tokens[name] = saved[name]
        else:
            _, tokens[name] = IngestToken.issue(service=service)
    if path and tokens != saved:
        # Ingest tokens are secrets: readable by this user only.
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
            json.dump(tokens, file)
    return tokens


def wait_for_port(host: str, port: int, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def start_embedded(host: str, port: int, tokens: dict[str, str]) -> threading.Thread:
    """Run the demo against this server once it listens, in a daemon thread."""
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"  # listening everywhere: reach it on loopback

    def run() -> None:
        if not wait_for_port(host, port):
            log.warning("demo: nothing listens on %s:%s; the demo reporter did not start", host, port)
            return
        Demo(f"http://{host}:{port}", tokens).run()

    thread = threading.Thread(target=run, name="demo", daemon=True)
    thread.start()
    return thread
