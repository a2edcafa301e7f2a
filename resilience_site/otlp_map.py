"""OTLP metrics -> our ingest batch: which metric names mean what (docs/opentelemetry.md).

Translation runs in two steps. `read_request` is pure: it reads each resource's points into
a Pending (gauges as reports, histograms and counters as CallPoints holding a Reading). The
caller turns cumulative readings into increments (monitoring.cumulative, inside its
transaction), then `batches` turns the increments into counted calls (a latency and how many
calls took it: a point is one item of the batch limit whatever its count), one batch per instance.
A point that cannot be used is rejected (counted, its reason kept for the answer); the
others go on. Metrics under names we do not know are ignored and counted.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2

from monitoring.batch import MAX_AGE, MAX_AHEAD, MAX_DURATION_MS
from monitoring.cumulative import Reading, stream_key
from monitoring.models import Service

from .ingest import IngestError
from .otlp_spread import Weighted, explicit_edges, exponential_edges, spread

CUMULATIVE = metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE
OUTCOMES = ("success", "failure", "timeout", "rejected")
BREAKER_STATES = {0: "closed", 1: "open", 2: "half_open"}
# Resilience4j's circuit breaker states, as the `state` tag of resilience4j.circuitbreaker.state.
R4J_STATES = {
    "closed": "closed",
    "open": "open",
    "half_open": "half_open",
    "forced_open": "open",
    "disabled": "closed",
    "metrics_only": "closed",
}
# Resilience4j's `kind` tag: successful, failed, ignored (an exception the breaker is told to
# ignore: neither a success nor a failure to it; a success here) and not_permitted (short-circuited).
R4J_CALL_KINDS = {"successful": "success", "failed": "failure", "ignored": "success", "not_permitted": "rejected"}
R4J_RETRY_KINDS = {
    "successful_without_retry": ("success", 0),
    "successful_with_retry": ("success", 1),
    "failed_without_retry": ("failure", 0),
    "failed_with_retry": ("failure", 1),
}
MS_PER_UNIT = {"ms": 1.0, "s": 1000.0, "us": 0.001, "ns": 0.000001}
SECONDS_PER_UNIT = {"s": 1.0, "ms": 0.001, "": 1.0}
MAX_PROBLEMS = 5  # reasons quoted in the answer
INF = math.inf
MAX_EDGES = 1000  # bucket layouts whose edges a process keeps (an SDK uses one or a few)
MAX_ATTRIBUTES = 20_000  # attribute sets a process keeps read (a stream's points share theirs)


class ServiceMismatch(Exception):
    def __init__(self, named: str, token_service: str) -> None:
        super().__init__(f'is "{named}" but the token is for service "{token_service}"')
        self.message = str(self)


class Rejected(Exception):
    """One data point that cannot be used, and why."""


@dataclass(slots=True)
class Counted:
    """count calls alike: monitoring.batch.CountedCall's fields, made here from checked points
    (every field is checked as CountedCall would check it: the names, outcome and retries as
    the point is read, the time against the window, the latency as it is made), so the calls
    of a request are not validated a second time."""

    function: str
    ts: datetime
    duration_ms: float
    outcome: str
    error_type: str | None
    retries: int
    count: int


@dataclass(slots=True)
class CallPoint:
    """Calls of one function and outcome that one histogram or counter point stands for."""

    function: str
    outcome: str
    ts: datetime
    reading: Reading
    stream: str | None  # set for a cumulative point: its increment is worked out first
    edges: list[tuple[float, float]] | None = None  # a histogram's buckets in ms (None: a counter)
    scale: float = 1.0  # ms per unit of the point's sum
    low: float | None = None  # its min and max in ms, when it has them
    high: float | None = None
    error_type: str | None = None
    retries: int = 0

    def durations(self, increment: Reading, n: int) -> Weighted:
        if self.edges is None:
            return [(0.0, n)]  # a counter's calls carry no latency
        return bucket_durations(self.edges, self.scale, self.low, self.high, increment, n)

    def calls(self, increment: Reading) -> list[Counted]:
        """Counted calls for the increment's count, no more."""
        left = round(increment.counts[0])
        found = []
        for duration, count in self.durations(increment, left):
            count = min(count, left)
            if count <= 0:
                break
            left -= count
            if not 0.0 <= duration <= MAX_DURATION_MS:
                duration = checked_duration(duration)
            found.append(Counted(self.function, self.ts, duration, self.outcome, self.error_type, self.retries, count))
        return found


def checked_duration(duration: float) -> float:
    """A latency past the longest stored, as the longest; refused (as the batch's validation
    refused it, a 422) when it is not a number from 0 up: a NaN or negative bucket bound."""
    if duration > MAX_DURATION_MS:
        return MAX_DURATION_MS
    if math.isnan(duration):
        raise IngestError("Input should be a finite number")
    raise IngestError("Input should be greater than or equal to 0")


@dataclass
class Pending:
    """What one instance's points say, before cumulative points become increments."""

    instance: str | None
    calls: list[CallPoint] = field(default_factory=list)
    retries: list[CallPoint] = field(default_factory=list)  # Resilience4j Retry counts
    breakers: list[dict] = field(default_factory=list)
    gauges: dict[tuple[str, str], dict] = field(default_factory=dict)  # (kind, name) -> fields

    def gauge(self, kind: str, key: str, name: str, value: float, ts: datetime) -> None:
        fields = self.gauges.setdefault((kind, name), {})
        fields[key] = value
        fields["ts"] = max(ts, fields.get("ts", ts))


@dataclass
class Translation:
    pending: dict[str | None, Pending] = field(default_factory=dict)
    rejected: int = 0
    problems: list[str] = field(default_factory=list)
    unknown: Counter[str] = field(default_factory=Counter)
    # What every point of a request shares, worked out once: the clock, its points' times (an
    # SDK stamps a whole export with one).
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    times: dict[int, datetime] = field(default_factory=dict)

    def moment(self, time_ns: int) -> datetime:
        ts = self.times.get(time_ns)
        if ts is None:
            ts = self.times[time_ns] = moment(time_ns, self.now)
        return ts

    def reject(self, metric: str, reason: str) -> None:
        self.rejected += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(f"{metric}: {reason}")

    def readings(self) -> dict[str, Reading]:
        return {
            point.stream: point.reading
            for pending in self.pending.values()
            for point in [*pending.calls, *pending.retries]
            if point.stream
        }

    def message(self) -> str:
        parts = []
        if self.rejected:
            parts.append(f"rejected {self.rejected} data points: " + "; ".join(self.problems))
        if self.unknown:
            names = ", ".join(sorted(self.unknown))
            parts.append(f"ignored {sum(self.unknown.values())} data points of unknown metrics: {names}")
        return ". ".join(parts)


PLAIN = frozenset({"string_value", "int_value", "double_value", "bool_value"})


ATTRIBUTES: dict[bytes, dict[str, object]] = {}  # a point's attributes as sent -> as read


def attributes(pairs: Iterable[KeyValue]) -> dict[str, object]:
    """The attributes as a dict (not to be changed: it is shared). A stream sends the same ones
    with every point; serialized, they are the key to what they were read as before, at half
    the cost of reading each value out of protobuf again."""
    sent = b"".join([pair.SerializeToString() for pair in pairs])
    found = ATTRIBUTES.get(sent)
    if found is None:
        if len(ATTRIBUTES) >= MAX_ATTRIBUTES:
            ATTRIBUTES.clear()
        found = {}
        for pair in pairs:
            value = pair.value
            kind = value.WhichOneof("value")
            found[pair.key] = getattr(value, kind) if kind in PLAIN else None
        ATTRIBUTES[sent] = found  # whole: other threads read it from here
    return found


EDGES: dict[tuple, list[tuple[float, float]]] = {}  # (ms per unit, *bounds) -> buckets in ms


def cached_edges(bounds: tuple[float, ...], scale: float) -> list[tuple[float, float]]:
    """An explicit histogram's buckets in ms, worked out once per process for each layout."""
    key = (scale, *bounds)
    found = EDGES.get(key)
    if found is None:
        if len(EDGES) >= MAX_EDGES:
            EDGES.clear()
        found = EDGES[key] = explicit_edges([bound * scale for bound in bounds])
    return found


def number(point: metrics_pb2.NumberDataPoint) -> float:
    value = point.as_int if point.WhichOneof("value") == "as_int" else point.as_double
    if not math.isfinite(value) or value < 0:
        raise Rejected(f"{value} is not a number from 0 up")
    return value


def moment(time_ns: int, now: datetime) -> datetime:
    if time_ns <= 0:
        raise Rejected("time_unix_nano is missing")
    ts = datetime.fromtimestamp(time_ns / 1e9, UTC)
    if ts < now - MAX_AGE:
        raise Rejected("time_unix_nano is more than 24 hours in the past")
    if ts > now + MAX_AHEAD:
        raise Rejected("time_unix_nano is more than 5 minutes in the future")
    return ts


def name_of(attrs: dict[str, object], key: str) -> str:
    value = attrs.get(key)
    if not isinstance(value, str) or not value:
        raise Rejected(f"attribute {key} is missing")
    if len(value) > 200 or not value.isprintable():
        raise Rejected(f"attribute {key} must be 1 to 200 printable characters")
    return value


class Reader:
    """Reads one resource's metrics into its Pending."""

    def __init__(self, translation: Translation, pending: Pending, scope: str) -> None:
        self.translation = translation
        self.pending = pending
        self.scope = scope
        self.cumulative = False  # the metric being read: its temporality and kind of data
        self.kind: str | None = None
        self.ms_per_unit: float | None = None
        self.layout: list[float] | None = None  # the last explicit bounds read, and their buckets in ms
        self.edges: list[tuple[float, float]] = []

    def read(self, metric: metrics_pb2.Metric) -> None:
        handler = HANDLERS.get(metric.name)
        kind = metric.WhichOneof("data")
        data = getattr(metric, kind) if kind else None
        points = data.data_points if data is not None else []
        if handler is None:
            self.translation.unknown[metric.name] += len(points) or 1
            return
        self.cumulative = getattr(data, "aggregation_temporality", 0) == CUMULATIVE
        self.kind = kind
        self.ms_per_unit = MS_PER_UNIT.get(metric.unit)
        self.layout, self.edges = None, []
        for point in points:
            try:
                handler(self, metric, point)
            except Rejected as reason:
                self.translation.reject(metric.name, str(reason))

    def stream(self, metric: metrics_pb2.Metric, point: object) -> str | None:
        if not self.cumulative:
            return None
        attrs = sorted(attributes(point.attributes).items())
        return stream_key(self.pending.instance, self.scope, metric.name, attrs)

    # Calls ----------------------------------------------------------------------------------

    def histogram_calls(self, metric: metrics_pb2.Metric, point: object, function: str, outcome: str) -> CallPoint:
        kind = self.kind
        if kind not in ("histogram", "exponential_histogram"):
            raise Rejected(f"is a {kind}; a histogram was expected")
        scale = self.ms_per_unit
        if scale is None:
            raise Rejected(f'unit "{metric.unit}" is not one of ms, s, us, ns')
        total, low, high = point.sum, point.min, point.max
        if not (0.0 <= total < INF and 0.0 <= low < INF and 0.0 <= high < INF):  # NaN is none of these
            raise Rejected("sum, min and max must be numbers from 0 up")
        low = low * scale if point.HasField("min") else None
        high = high * scale if point.HasField("max") else None
        count = point.count
        if kind == "histogram":
            layout = point.explicit_bounds[:]  # a slice: a list at half the cost of list()
            bucket_counts = point.bucket_counts[:]
            if bucket_counts and len(bucket_counts) != len(layout) + 1:
                raise Rejected("bucket_counts must have one more entry than explicit_bounds")
            if bucket_counts and sum(bucket_counts) != count:
                raise Rejected("bucket_counts must add up to count")
            counts = [count, *bucket_counts]
            if layout != self.layout:  # the points of one metric mostly share their bounds
                self.layout, self.edges = layout, cached_edges(tuple(layout), scale)
            edges = self.edges
        else:
            positive = point.positive
            if any(point.negative.bucket_counts):
                raise Rejected("a duration cannot be negative")
            if point.zero_count + sum(positive.bucket_counts) != point.count:
                raise Rejected("zero_count and the bucket counts must add up to count")
            counts = [point.count, point.zero_count, *positive.bucket_counts]
            layout = [point.scale, positive.offset]
            edges = [(0.0, 0.0)] + [
                (lower * scale, upper * scale)
                for lower, upper in exponential_edges(point.scale, positive.offset, len(positive.bucket_counts))
            ]
        time_ns = point.time_unix_nano
        reading = Reading(point.start_time_unix_nano, time_ns, counts, total, layout)
        ts = self.translation.moment(time_ns)
        return CallPoint(function, outcome, ts, reading, self.stream(metric, point), edges, scale, low, high)

    def counter_calls(self, metric: metrics_pb2.Metric, point: object, function: str, outcome: str) -> CallPoint:
        if metric.WhichOneof("data") != "sum" or not metric.sum.is_monotonic:
            raise Rejected("a monotonic sum (a counter) was expected")
        reading = Reading(point.start_time_unix_nano, point.time_unix_nano, [number(point)])
        stream = self.stream(metric, point)
        return CallPoint(function, outcome, self.translation.moment(point.time_unix_nano), reading, stream)

    def call_duration(self, metric: metrics_pb2.Metric, point: object) -> None:
        attrs = attributes(point.attributes)
        outcome = attrs.get("outcome", "success")
        if outcome not in OUTCOMES:
            raise Rejected(f'outcome "{outcome}" is not one of {", ".join(OUTCOMES)}')
        calls = self.histogram_calls(metric, point, name_of(attrs, "function"), str(outcome))
        if "error.type" in attrs:
            calls.error_type = name_of(attrs, "error.type")
        retries = attrs.get("retries", 0)
        if isinstance(retries, str) and retries.isdecimal():
            retries = int(retries)
        # A bool is an int to Python, not a whole number to the batch (the calls are not
        # validated again: every field is checked here).
        if not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= 1000:
            raise Rejected("attribute retries must be a whole number from 0 to 1000")
        calls.retries = retries
        self.pending.calls.append(calls)

    def r4j_calls(self, metric: metrics_pb2.Metric, point: object) -> None:
        attrs = attributes(point.attributes)
        function = name_of(attrs, "name")
        outcome = R4J_CALL_KINDS.get(str(attrs.get("kind")))
        if outcome is None:
            raise Rejected(f'kind "{attrs.get("kind")}" is not one of {", ".join(R4J_CALL_KINDS)}')
        if metric.WhichOneof("data") == "sum":
            self.pending.calls.append(self.counter_calls(metric, point, function, outcome))
        else:
            self.pending.calls.append(self.histogram_calls(metric, point, function, outcome))

    def r4j_not_permitted(self, metric: metrics_pb2.Metric, point: object) -> None:
        function = name_of(attributes(point.attributes), "name")
        self.pending.calls.append(self.counter_calls(metric, point, function, "rejected"))

    def r4j_retries(self, metric: metrics_pb2.Metric, point: object) -> None:
        attrs = attributes(point.attributes)
        kind = R4J_RETRY_KINDS.get(str(attrs.get("kind")))
        if kind is None:
            raise Rejected(f'kind "{attrs.get("kind")}" is not one of {", ".join(R4J_RETRY_KINDS)}')
        calls = self.counter_calls(metric, point, name_of(attrs, "name"), kind[0])
        calls.retries = kind[1]
        self.pending.retries.append(calls)

    # Gauges ---------------------------------------------------------------------------------

    def gauge_point(self, metric: metrics_pb2.Metric, point: object) -> tuple[dict, float, datetime]:
        kind = metric.WhichOneof("data")
        if kind not in ("gauge", "sum"):
            raise Rejected(f"is a {kind}; a gauge was expected")
        return attributes(point.attributes), number(point), self.translation.moment(point.time_unix_nano)

    def breaker_state(self, metric: metrics_pb2.Metric, point: object) -> None:
        attrs, value, ts = self.gauge_point(metric, point)
        state = BREAKER_STATES.get(int(value)) if value == int(value) else None
        if state is None:
            raise Rejected(f"{value} is not a state (0 closed, 1 open, 2 half-open)")
        self.pending.breakers.append({"function": name_of(attrs, "function"), "state": state, "ts": ts})

    def r4j_state(self, metric: metrics_pb2.Metric, point: object) -> None:
        attrs, value, ts = self.gauge_point(metric, point)
        state = R4J_STATES.get(str(attrs.get("state")))
        if state is None:
            raise Rejected(f'state "{attrs.get("state")}" is not one of {", ".join(R4J_STATES)}')
        if value == 1:  # one point per possible state: 1 for the breaker's state, 0 for the others
            self.pending.breakers.append({"function": name_of(attrs, "name"), "state": state, "ts": ts})

    def read_gauge(
        self, metric: metrics_pb2.Metric, point: object, kind: str, attribute: str, key: str, seconds: bool
    ) -> None:
        attrs, value, ts = self.gauge_point(metric, point)
        if seconds:
            unit = SECONDS_PER_UNIT.get(metric.unit)
            if unit is None:
                raise Rejected(f'unit "{metric.unit}" is not one of s, ms')
            value = value * unit
        elif value != int(value):
            raise Rejected(f"{value} is not a whole number")
        if not 0 <= value <= 1e7:
            raise Rejected(f"{value} is not from 0 to 10000000")
        self.pending.gauge(kind, key, name_of(attrs, attribute), value if seconds else int(value), ts)


def bucket_durations(
    edges: list[tuple[float, float]], scale: float, low: float | None, high: float | None, increment: Reading, n: int
) -> Weighted:
    """A histogram increment's n calls spread over its buckets' edges (in ms)."""
    mean = increment.total * scale / n if n else 0.0
    if len(increment.counts) == 1:  # no buckets (a Micrometer Timer), or the buckets moved since the last point
        return [(mean, n)]
    return spread(edges, increment.counts[1:], low, high, mean)


def gauge(kind: str, attribute: str, key: str, seconds: bool = False) -> Callable[[Reader, object, object], None]:
    """The handler of a gauge whose points set one field of a concurrency or queue report."""

    def read(reader: Reader, metric: metrics_pb2.Metric, point: object) -> None:
        reader.read_gauge(metric, point, kind, attribute, key, seconds)

    return read


HANDLERS: dict[str, Callable[[Reader, metrics_pb2.Metric, object], None]] = {
    "resilience.call.duration": Reader.call_duration,
    "resilience.breaker.state": Reader.breaker_state,
    "resilience.concurrency.active": gauge("concurrency", "function", "active"),
    "resilience.concurrency.limit": gauge("concurrency", "function", "limit"),
    "resilience.concurrency.queued": gauge("concurrency", "function", "queued"),
    "resilience.queue.depth": gauge("queue", "queue", "depth"),
    "resilience.queue.in_flight": gauge("queue", "queue", "in_flight"),
    "resilience.queue.dead_letter": gauge("queue", "queue", "dead_letter"),
    "resilience.queue.oldest_age": gauge("queue", "queue", "oldest_age_s", seconds=True),
    "resilience4j.circuitbreaker.state": Reader.r4j_state,
    "resilience4j.circuitbreaker.calls": Reader.r4j_calls,
    "resilience4j.circuitbreaker.not.permitted.calls": Reader.r4j_not_permitted,
    "resilience4j.retry.calls": Reader.r4j_retries,
    "resilience4j.bulkhead.available.concurrent.calls": gauge("bulkhead", "name", "available"),
    "resilience4j.bulkhead.max.allowed.concurrent.calls": gauge("bulkhead", "name", "limit"),
}


def read_request(request: ExportMetricsServiceRequest, service: Service) -> Translation:
    translation = Translation()
    for resource_metrics in request.resource_metrics:
        resource = attributes(resource_metrics.resource.attributes)
        named = resource.get("service.name")
        if named is not None and named != service.name:
            raise ServiceMismatch(str(named), service.name)
        instance = resource.get("service.instance.id")
        instance = str(instance) if instance not in (None, "") else None
        pending = translation.pending.setdefault(instance, Pending(instance))
        for scope_metrics in resource_metrics.scope_metrics:
            reader = Reader(translation, pending, scope_metrics.scope.name)
            for metric in scope_metrics.metrics:
                reader.read(metric)
    for pending in translation.pending.values():
        pending.calls = newest_per_stream(pending.calls)
        pending.retries = newest_per_stream(pending.retries)
    return translation


def newest_per_stream(points: list[CallPoint]) -> list[CallPoint]:
    """A cumulative stream's newest point only: a Collector may batch two exports of one stream
    into one request, and the newest total already holds what the older one says."""
    newest: dict[str, CallPoint] = {}
    for point in sorted(points, key=lambda point: point.reading.time_ns):
        if point.stream:
            newest[point.stream] = point
    return [point for point in points if not point.stream or newest[point.stream] is point]


def item_count(pending: Pending, increments: dict[str, Reading]) -> int:
    """Items for the batch limit: one per point with calls to store (whatever its count), per
    breaker state and per concurrency or queue report."""
    points = [point for point in [*pending.calls, *pending.retries] if increment_of(point, increments) is not None]
    return len(points) + len(pending.breakers) + len(pending.gauges)


def increment_of(point: CallPoint, increments: dict[str, Reading]) -> Reading | None:
    return point.reading if point.stream is None else increments.get(point.stream)


def expand(points: list[CallPoint], increments: dict[str, Reading]) -> list[Counted]:
    calls = []
    for point in points:
        increment = increment_of(point, increments)
        if increment is not None:
            calls.extend(point.calls(increment))
    return calls


def with_retries(calls: list[Counted], retries: list[CallPoint], increments: dict[str, Reading]) -> list[Counted]:
    """Resilience4j's Retry counts: on the calls its circuit breaker of the same name reported,
    they mark that many of them as retried; for a name with no breaker calls, they are the calls."""
    measured = {call.function for call in calls}
    for point in retries:
        increment = increment_of(point, increments)
        if increment is None:
            continue
        if point.function not in measured:
            calls.extend(point.calls(increment))
            continue
        left = round(increment.counts[0]) if point.retries else 0
        for call in list(calls):
            if left <= 0:
                break
            if call.function == point.function and call.outcome == point.outcome and not call.retries:
                if call.count > left:  # only some of these calls were retried: split them
                    calls.append(replace(call, count=call.count - left))
                    call.count = left
                call.retries = point.retries
                left -= call.count
    return calls


def concurrency_and_queues(pending: Pending, translation: Translation) -> tuple[list[dict], list[dict]]:
    concurrency, queues = [], []
    for (kind, name), fields in sorted(pending.gauges.items(), key=lambda item: item[0]):
        if kind == "bulkhead":
            if "available" in fields and "limit" in fields:
                active = max(fields["limit"] - fields["available"], 0)
                concurrency.append({"function": name, "active": active, "limit": fields["limit"], "ts": fields["ts"]})
            else:
                translation.reject("resilience4j.bulkhead", f"{name}: available and max allowed come together")
        elif kind == "concurrency":
            if "active" in fields and "limit" in fields:
                concurrency.append({"function": name, "queued": 0, **fields})
            else:
                translation.reject("resilience.concurrency", f"{name}: active and limit come together")
        elif "depth" in fields:
            queues.append({"queue": name, **fields})
        else:
            translation.reject("resilience.queue", f"{name}: depth is missing")
    return concurrency, queues


def batches(translation: Translation, increments: dict[str, Reading]) -> list[dict]:
    """One batch per instance, the instances with something to store."""
    found = []
    for instance, pending in sorted(translation.pending.items(), key=lambda item: item[0] or ""):
        calls = with_retries(expand(pending.calls, increments), pending.retries, increments)
        concurrency, queues = concurrency_and_queues(pending, translation)
        batch = {"calls": calls, "breakers": pending.breakers, "concurrency": concurrency, "queues": queues}
        if any(batch.values()):
            found.append({"instance": instance, **batch} if instance else batch)
    return found
