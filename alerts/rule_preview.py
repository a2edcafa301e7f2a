"""What a rule would have done over the last 24 hours of stored data, before it is saved.

The evaluation is replayed at one step per window: the day is cut into tiles of
`window_minutes` (aligned like the series' steps, the last one ending now), and at the end
of each tile the rule's metric is read for every subject in scope as `metrics.Round` reads
it, then the same comparisons run (`passes`, then `still_passes` with the resolve threshold
while firing; `for_seconds` before firing). Each transition into firing is counted per
subject. Call metrics are read for the whole day in one grouped query, by tile and
function, whose condition sits in SQL (HAVING): only the tiles and functions that could
pass come back, so the cost follows what breached, not the number of functions or steps.

The replay starts with nothing firing: a subject already breaching when the day begins
counts as firing then. Concurrency gauges keep only their latest value, so a concurrency
rule cannot be replayed; the preview says so instead of answering 0.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import F, FloatField, Max, Q, QuerySet, Sum
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, NullIf, TruncMinute
from django.utils import timezone

from monitoring import histogram
from monitoring.models import Breaker, BreakerFlip, CallBucket, Function, Service
from monitoring.ranges import EPOCH
from monitoring.writers import writer
from queues.models import Queue, Snapshot

from .evaluate import passes, still_passes
from .metrics import BREAKER_METRICS, CALL_METRICS, LATENCY_METRICS, QUEUE_METRICS, in_scope, matches
from .models import Metric, Rule

DAY = timedelta(hours=24)
SHOWN_SUBJECTS = 50
LOOKUPS = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}
# Histogram percentiles are read within 5 % of the exact value: a window whose slowest call
# is this much under the threshold cannot pass it.
LATENCY_MARGIN = 1.1
CANNOT_REPLAY = {
    Metric.CONCURRENCY_UTILISATION: (
        "Concurrency is stored as each instance's latest gauge only, not as history, so this rule "
        "cannot be replayed over the last 24 hours. It will be evaluated from now on."
    ),
}

Values = dict[str, float]


@dataclass
class Firings:
    service: str
    subject: str
    fired: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None


@dataclass
class Preview:
    available: bool
    start: datetime
    end: datetime
    step_minutes: int
    fired: int = 0
    subjects: list[Firings] = field(default_factory=list)
    subjects_with_data: int = 0
    message: str = ""
    notes: list[str] = field(default_factory=list)

    def out(self) -> dict:
        shown = sorted(self.subjects, key=lambda s: (-s.fired, s.service, s.subject))
        return {
            "available": self.available,
            "message": self.message,
            "start": self.start,
            "end": self.end,
            "step_minutes": self.step_minutes,
            "fired": self.fired,
            "subject_count": len(self.subjects),
            "subjects_with_data": self.subjects_with_data,
            "subjects": [s.__dict__ for s in shown[:SHOWN_SUBJECTS]],
            "notes": self.notes,
        }


def preview(rule: Rule, now: datetime | None = None) -> dict:
    end = (now or timezone.now()).replace(second=0, microsecond=0)
    step = timedelta(minutes=rule.window_minutes)
    result = Preview(available=True, start=end - DAY, end=end, step_minutes=rule.window_minutes)
    if rule.metric in CANNOT_REPLAY:
        result.available, result.message = False, CANNOT_REPLAY[rule.metric]
        return result.out()
    steps = tile_ends(end, step)
    result.start = steps[0] - step + timedelta(minutes=1)
    history = History(rule, steps)
    replay(rule, steps, history, result)
    result.subjects_with_data = len(history.seen)
    result.notes = history.notes
    if not history.seen:
        result.notes.append("No subject in the rule's scope has stored data for the last 24 hours.")
    return result.out()


def tile_ends(end: datetime, step: timedelta) -> list[datetime]:
    """The last minute of each tile covering the 24 hours up to end (the last tile ends at end)."""
    last = EPOCH + (end - EPOCH) // step * step
    count = -(-DAY // step) + (last != end)
    return [min(last - step * k + step - timedelta(minutes=1), end) for k in range(count - 1, -1, -1)]


def replay(rule: Rule, steps: list[datetime], history: History, result: Preview) -> None:
    """The evaluator's comparisons (evaluate.evaluate_rule and ripe) over the steps."""
    firing: set[str] = set()
    since: dict[str, datetime] = {}
    wait = timedelta(seconds=rule.for_seconds)
    found: dict[str, Firings] = {}
    for t in steps:
        values = history.values_at(t)
        opened = set(firing)
        firing = {key for key in firing if still_passes(rule, values.get(key))}
        breaching = [key for key, value in values.items() if passes(rule, value)]
        if rule.for_seconds:
            waited = {key: since[key] for key in breaching if key in since}
            since = {key: since.get(key, t) for key in breaching}
            ripe = [key for key, began in waited.items() if t - began >= wait]
        else:
            ripe = breaching
        for key in ripe:
            if key in opened:
                continue
            firing.add(key)
            service, subject = history.names[key]
            firings = found.setdefault(key, Firings(service, subject))
            firings.fired += 1
            firings.first_at = firings.first_at or t
            firings.last_at = t
            result.fired += 1
    result.subjects = list(found.values())


class History:
    """Reads a rule's metric at past moments: {fingerprint: value} for the subjects that could
    pass (the looser of the firing and resolve thresholds); what is left out passes neither."""

    def __init__(self, rule: Rule, steps: list[datetime]) -> None:
        self.rule = rule
        self.steps = steps
        self.names: dict[str, tuple[str, str]] = {}
        self.seen: set[str] = set()
        self.notes: list[str] = []
        self.loose = loose_threshold(rule)
        self.values_at = self.reader()

    def reader(self) -> Callable[[datetime], Values]:
        metric = self.rule.metric
        if metric in CALL_METRICS or metric in LATENCY_METRICS or metric == Metric.BREAKER_FLIPS:
            self.functions = {
                fid: (service, name) for fid, service, name in in_scope(functions(self.rule.project_id), self.rule)
            }
            self.names = {f"function:{fid}": names for fid, names in self.functions.items()}
        if metric in LATENCY_METRICS:
            return self.latency_reader()
        if metric in CALL_METRICS:
            return self.calls_reader()
        if metric == Metric.BREAKER_FLIPS:
            return self.flips_reader()
        if metric in BREAKER_METRICS:
            return self.breaker_reader()
        if metric in QUEUE_METRICS:
            return self.queue_reader()
        if metric == Metric.REPORTER_SILENT_MINUTES:
            return self.silence_reader()
        raise ValueError(f"unknown metric {metric!r}")

    # Calls: minute buckets grouped by tile and function, in one query for the day.

    def day_buckets(self) -> QuerySet[CallBucket]:
        first = self.steps[0] - timedelta(minutes=self.rule.window_minutes - 1)
        rows = CallBucket.objects.filter(minute__gte=first, minute__lte=self.steps[-1])
        rows = scoped(rows, "function_id", self.functions, self.rule)
        return rows.annotate(slot=RawSQL(writer().slot("minute", self.rule.window_minutes * 60), []))

    def by_tile(self, rows: Iterable[tuple[int, int, float | None]]) -> dict[datetime, Values]:
        """{step: {fingerprint: value}} from (tile start in epoch seconds, function id, value)."""
        step = timedelta(minutes=self.rule.window_minutes)
        found: dict[datetime, Values] = defaultdict(dict)
        for slot, fid, value in rows:
            if fid in self.functions and value is not None:
                at = min(EPOCH + timedelta(seconds=int(slot)) + step - timedelta(minutes=1), self.steps[-1])
                found[at][f"function:{fid}"] = float(value)
                self.seen.add(f"function:{fid}")
        return found

    def calls_reader(self) -> Callable[[datetime], Values]:
        rule = self.rule
        calls = Sum(F("success") + F("failure") + F("timeout") + F("rejected"))
        rows = self.day_buckets().values("slot", "function_id").annotate(calls=calls)
        if rule.metric == Metric.CALL_VOLUME:
            rows = rows.annotate(value=Cast(calls, FloatField()))
        else:
            rows = rows.filter(calls__gte=max(rule.min_calls, 1)).annotate(value=rate(rule.metric, calls))
        if rule.metric == Metric.CALL_VOLUME and passes_at(rule.op, 0, self.loose):
            # No bucket in a tile is no call at all: the evaluator reads 0 for these, so every
            # function's tiles are needed.
            found = self.by_tile(rows.values_list("slot", "function_id", "value"))
            created = dict(Function.objects.filter(id__in=list(self.functions)).values_list("id", "created"))
            for at in self.steps:
                # A function that did not exist yet had no calls to miss.
                zero = {f"function:{fid}": 0.0 for fid in self.functions if created.get(fid, at) <= at}
                found[at] = zero | found.get(at, {})
        else:
            rows = rows.filter(**{f"value__{LOOKUPS[rule.op]}": self.loose})
            found = self.by_tile(rows.values_list("slot", "function_id", "value"))
        return lambda t: found.get(t, {})

    def latency_reader(self) -> Callable[[datetime], Values]:
        rule = self.rule
        calls = Sum(F("success") + F("failure") + F("timeout") + F("rejected"))
        rows = self.day_buckets().values("slot", "function_id").annotate(calls=calls)
        rows = rows.filter(calls__gte=max(rule.min_calls, 1))
        if rule.op in (">", ">="):
            rows = rows.annotate(slowest=Max("latency_max_ms")).filter(slowest__gte=self.loose / LATENCY_MARGIN)
        candidates = {(int(slot), fid) for slot, fid in rows.values_list("slot", "function_id")}
        merged: dict[tuple[int, int], dict[str, int]] = defaultdict(dict)
        for chunk in chunks(sorted({fid for _, fid in candidates})):
            histograms = self.day_buckets().filter(function_id__in=chunk)
            for slot, fid, counts in histograms.values_list("slot", "function_id", "histogram"):
                if (int(slot), fid) in candidates:
                    histogram.merge(merged[(int(slot), fid)], counts)
        q = LATENCY_METRICS[rule.metric]
        found = self.by_tile((slot, fid, histogram.percentile(counts, q)) for (slot, fid), counts in merged.items())
        return lambda t: found.get(t, {})

    def flips_reader(self) -> Callable[[datetime], Values]:
        """Changes of state (not an instance's first report) counted per window, from one read."""
        window = timedelta(minutes=self.rule.window_minutes)
        rows = BreakerFlip.objects.filter(at__gte=self.steps[0] - window, at__lte=self.steps[-1]).exclude(old_state="")
        times: dict[int, list[datetime]] = defaultdict(list)
        for fid, at in (
            scoped(rows, "function_id", self.functions, self.rule).order_by("at").values_list("function_id", "at")
        ):
            if fid in self.functions:
                times[fid].append(at)

        def at(t: datetime) -> Values:
            values = {}
            for fid, moments in times.items():
                n = bisect_right(moments, t) - bisect_left(moments, t - window)
                if n:
                    values[f"function:{fid}"] = float(n)
            self.seen.update(values)
            return values

        return at

    # Breakers: each instance's state over the day, rebuilt from its flips.

    def breaker_reader(self) -> Callable[[datetime], Values]:
        self.functions = {
            fid: (service, name) for fid, service, name in in_scope(functions(self.rule.project_id), self.rule)
        }
        self.names = {f"function:{fid}": names for fid, names in self.functions.items()}
        state = "open" if self.rule.metric == Metric.BREAKER_OPEN_S else "half_open"
        by_step: dict[datetime, dict[str, datetime]] = defaultdict(dict)
        for fid, began, since, ended in self.breaker_spells(state):
            key = f"function:{fid}"
            for t in self.steps[bisect_left(self.steps, began) : bisect_left(self.steps, ended)]:
                earliest = by_step[t].get(key)
                by_step[t][key] = since if earliest is None else min(earliest, since)
        self.notes.append(
            "Breaker states are rebuilt from their recorded changes; an instance that stopped "
            "reporting is counted as long as its last state held."
        )

        def at(t: datetime) -> Values:
            values = {key: (t - since).total_seconds() for key, since in by_step.get(t, {}).items()}
            self.seen.update(values)
            return values

        return at

    def breaker_spells(self, state: str) -> list[tuple[int, datetime, datetime, datetime]]:
        """(function id, from, since, until) for each stretch an instance spent in `state`."""
        start, end = self.steps[0] - DAY, self.steps[-1] + timedelta(seconds=1)
        flips = BreakerFlip.objects.filter(at__gte=start, at__lte=self.steps[-1]).order_by("at", "id")
        flips = scoped(flips, "function_id", self.functions, self.rule)
        timelines: dict[tuple[int, str], list[tuple[datetime, str, str]]] = defaultdict(list)
        for fid, instance, old, new, at in flips.values_list("function_id", "instance", "old_state", "new_state", "at"):
            if fid in self.functions:
                timelines[(fid, instance)].append((at, old, new))
        spells = []
        for fid, instance, current, since in scoped(
            Breaker.objects.all(), "function_id", self.functions, self.rule
        ).values_list("function_id", "instance", "state", "since"):
            if (fid, instance) not in timelines and fid in self.functions and current == state:
                spells.append((fid, since, since, end))
        for (fid, _), changes in timelines.items():
            # Before its first recorded change the instance was in that change's old state,
            # since some time before the data starts: counted from there (a lower bound).
            at, old, _ = changes[0]
            if old == state:
                spells.append((fid, start, start, at))
            for i, (at, _, new) in enumerate(changes):
                if new == state:
                    until = changes[i + 1][0] if i + 1 < len(changes) else end
                    spells.append((fid, at, at, until))
        return spells

    # Queues: their snapshots over the day, read once, windows found by bisection.

    def queue_reader(self) -> Callable[[datetime], Values]:
        queues = {qid: (service, name) for qid, service, name in in_scope(list_queues(self.rule.project_id), self.rule)}
        self.names = {f"queue:{qid}": names for qid, names in queues.items()}
        window = timedelta(minutes=self.rule.window_minutes)
        rows = Snapshot.objects.filter(at__gte=self.steps[0] - window, at__lte=self.steps[-1]).order_by(
            "queue_id", "at"
        )
        rows = scoped(rows, "queue_id", queues, self.rule)
        series: dict[int, list[tuple]] = defaultdict(list)
        for row in rows.values_list("queue_id", "at", "depth", "dead_letter", "oldest_age_s"):
            if row[0] in queues:
                series[row[0]].append(row[1:])
        times = {qid: [row[0] for row in rows] for qid, rows in series.items()}
        metric = self.rule.metric

        def at(t: datetime) -> Values:
            values = {}
            for qid, snapshots in series.items():
                first, last = bisect_left(times[qid], t - window), bisect_right(times[qid], t) - 1
                if first > last:
                    continue
                _, depth, dead, age = snapshots[last]
                value = {
                    Metric.QUEUE_DEPTH: depth,
                    Metric.DEAD_LETTER: dead,
                    Metric.DEAD_LETTER_GROWTH: dead - snapshots[first][2],
                    Metric.OLDEST_PENDING_AGE_S: age,
                }[metric]
                if value is not None:
                    values[f"queue:{qid}"] = float(value)
            self.seen.update(values)
            return values

        return at

    # Reporters: the minutes each service sent calls or queue snapshots in.

    def silence_reader(self) -> Callable[[datetime], Values]:
        services = {
            sid: name
            for sid, name in Service.objects.filter(project_id=self.rule.project_id).values_list("id", "name")
            if matches(name, self.rule.service)
        }
        self.names = {f"service:{sid}": (name, name) for sid, name in services.items()}
        since, until = self.steps[0] - DAY, self.steps[-1]
        seen: dict[int, set[datetime]] = defaultdict(set)
        minutes = CallBucket.objects.filter(minute__gte=since, minute__lte=until)
        for sid, minute in minutes.values_list("function__service_id", "minute").distinct():
            seen[sid].add(minute)
        snapshots = Snapshot.objects.filter(at__gte=since, at__lte=until).annotate(minute=TruncMinute("at"))
        for sid, minute in snapshots.values_list("queue__service_id", "minute").distinct():
            seen[sid].add(minute)
        reports = {sid: sorted(moments) for sid, moments in seen.items() if sid in services}
        self.notes.append(
            "A service's reports are read from its stored calls and queue snapshots, to the minute; "
            "breaker and concurrency reports are not kept as history."
        )

        def at(t: datetime) -> Values:
            values = {}
            for sid, moments in reports.items():
                i = bisect_right(moments, t)
                if i:
                    values[f"service:{sid}"] = (t - moments[i - 1]).total_seconds() / 60
            self.seen.update(values)
            return values

        return at


def loose_threshold(rule: Rule) -> float:
    """The threshold a value must pass to fire or to keep firing, whichever lets more through."""
    if rule.resolve_threshold is None:
        return rule.threshold
    if rule.op in (">", ">="):
        return min(rule.threshold, rule.resolve_threshold)
    return max(rule.threshold, rule.resolve_threshold)


def passes_at(op: str, value: float, threshold: float) -> bool:
    return {">": value > threshold, ">=": value >= threshold, "<": value < threshold, "<=": value <= threshold}[op]


def rate(metric: str, calls: Sum) -> Cast:
    part = {
        Metric.ERROR_RATE: F("failure") + F("timeout") + F("rejected"),
        Metric.TIMEOUT_RATE: F("timeout"),
        Metric.REJECTED_RATE: F("rejected"),
        Metric.AVAILABILITY: F("success"),
        Metric.RETRIES_PER_CALL: F("retries"),
    }[metric]
    return Cast(Sum(part), FloatField()) / NullIf(calls, 0)


def functions(project_id: int) -> list[tuple[int, str, str]]:
    """The functions a rule of this project may match: its services' only."""
    return list(Function.objects.filter(service__project_id=project_id).values_list("id", "service__name", "name"))


def list_queues(project_id: int) -> list[tuple[int, str, str]]:
    return list(Queue.objects.filter(service__project_id=project_id).values_list("id", "service__name", "name"))


def scoped(rows: QuerySet, column: str, subjects: dict[int, object], rule: Rule) -> QuerySet:
    """Rows of the subjects in scope: filtered in the database when the list is short enough to
    send; callers keep only the subjects in scope either way."""
    if rule.service == "*" and rule.subject == "*":
        return rows
    if len(subjects) <= 2000:
        return rows.filter(Q(**{f"{column}__in": list(subjects)}))
    return rows


def chunks(ids: list[int], size: int = 2000) -> list[list[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]
