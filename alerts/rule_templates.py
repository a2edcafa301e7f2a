"""Rules to start from: each template pre-fills the rule form (and the API's create body)
with a metric and defaults that make sense for it. The one list, for pages and API alike."""

from __future__ import annotations

from dataclasses import dataclass, field

from .models import Metric


@dataclass(frozen=True)
class Template:
    key: str
    title: str
    description: str
    # A rule input body without name, scope or channels: the fields this template sets.
    rule: dict = field(default_factory=dict)

    def body(self) -> dict:
        """A full create body: the template's fields, its title as the name, every subject in scope."""
        return {"name": self.title, "service": "*", "subject": "*", "channels": [], **self.rule}


def rule(metric: Metric, op: str, threshold: float, **fields: object) -> dict:
    return {"metric": metric.value, "op": op, "threshold": threshold, **fields}


TEMPLATES = [
    Template(
        "error-rate",
        "Error rate",
        "More than 5 % of calls fail, time out or are rejected over 5 minutes, for 2 minutes; resolves below 2 %.",
        rule(
            Metric.ERROR_RATE,
            ">",
            0.05,
            resolve_threshold=0.02,
            window_minutes=5,
            min_calls=20,
            for_seconds=120,
            severity="high",
        ),
    ),
    Template(
        "p95-latency",
        "Slow calls (p95 latency)",
        "The 95th percentile of call latency is over 1 second over 5 minutes, for 5 minutes; resolves below 800 ms.",
        rule(
            Metric.P95_MS,
            ">",
            1000,
            resolve_threshold=800,
            window_minutes=5,
            min_calls=20,
            for_seconds=300,
            severity="medium",
        ),
    ),
    Template(
        "availability",
        "Availability below 99 %",
        "Fewer than 99 % of calls succeed over 15 minutes, for 5 minutes; resolves at 99.5 %.",
        rule(
            Metric.AVAILABILITY,
            "<",
            0.99,
            resolve_threshold=0.995,
            window_minutes=15,
            min_calls=50,
            for_seconds=300,
            severity="high",
        ),
    ),
    Template(
        "breaker-open",
        "Breaker open longer than 5 minutes",
        "A circuit breaker has been open for more than 5 minutes (300 seconds) on a reporting instance.",
        rule(Metric.BREAKER_OPEN_S, ">", 300, window_minutes=5, severity="critical"),
    ),
    Template(
        "breaker-flapping",
        "Breaker flapping",
        "A breaker changed state 6 times or more in 15 minutes.",
        rule(Metric.BREAKER_FLIPS, ">=", 6, window_minutes=15, severity="medium"),
    ),
    Template(
        "queue-age",
        "Queue message waiting too long",
        "The oldest pending message of a queue is older than 5 minutes, for 2 minutes.",
        rule(Metric.OLDEST_PENDING_AGE_S, ">", 300, window_minutes=5, for_seconds=120, severity="medium"),
    ),
    Template(
        "dead-letters-growing",
        "Dead letters growing",
        "A queue's dead-letter count grew in the last 15 minutes.",
        rule(Metric.DEAD_LETTER_GROWTH, ">", 0, window_minutes=15, severity="high"),
    ),
    Template(
        "retry-amplification",
        "Retry amplification",
        "Calls retry more than 0.5 times each on average over 10 minutes, for 5 minutes; resolves below 0.3.",
        rule(
            Metric.RETRIES_PER_CALL,
            ">",
            0.5,
            resolve_threshold=0.3,
            window_minutes=10,
            min_calls=20,
            for_seconds=300,
            severity="medium",
        ),
    ),
    Template(
        "concurrency-near-limit",
        "Concurrency near its limit",
        "A function used 90 % or more of its concurrency limit in the last 5 minutes, for 5 minutes; "
        "resolves below 80 %.",
        rule(
            Metric.CONCURRENCY_UTILISATION,
            ">=",
            0.9,
            resolve_threshold=0.8,
            window_minutes=5,
            for_seconds=300,
            severity="medium",
        ),
    ),
    Template(
        "reporter-silent",
        "Reporter silent",
        "A service has sent nothing (calls or queue snapshots) for more than 10 minutes.",
        rule(Metric.REPORTER_SILENT_MINUTES, ">", 10, window_minutes=5, severity="high"),
    ),
]
BY_KEY = {template.key: template for template in TEMPLATES}

# What each metric measures and in which unit: the form's help under the threshold.
METRIC_HELP = {
    Metric.ERROR_RATE: "share of calls that failed, timed out or were rejected, 0 to 1",
    Metric.TIMEOUT_RATE: "share of calls that timed out, 0 to 1",
    Metric.REJECTED_RATE: "share of calls rejected by a breaker or a full limit, 0 to 1",
    Metric.P50_MS: "median call latency in milliseconds",
    Metric.P95_MS: "95th percentile call latency in milliseconds",
    Metric.P99_MS: "99th percentile call latency in milliseconds",
    Metric.AVAILABILITY: "share of calls that succeeded, 0 to 1",
    Metric.CALL_VOLUME: "calls in the window",
    Metric.RETRIES_PER_CALL: "retries per call, on average over the window",
    Metric.BREAKER_OPEN_S: "seconds the breaker has been open",
    Metric.BREAKER_HALF_OPEN_S: "seconds the breaker has been half open",
    Metric.BREAKER_FLIPS: "breaker state changes in the window",
    Metric.CONCURRENCY_UTILISATION: "highest share of the concurrency limit in use in the window, 0 to 1",
    Metric.QUEUE_DEPTH: "messages waiting in the queue",
    Metric.DEAD_LETTER: "messages in the queue's dead-letter list",
    Metric.DEAD_LETTER_GROWTH: "dead letters added over the window",
    Metric.OLDEST_PENDING_AGE_S: "age of the oldest waiting message in seconds",
    Metric.REPORTER_SILENT_MINUTES: "minutes since the service last reported",
}


def find(key: str) -> Template | None:
    return BY_KEY.get(key)
