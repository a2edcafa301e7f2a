"""Reading every rule's metric for every subject in scope, a few queries per round.

A Round caches what it read (all functions, the call totals of each window, the
breakers...), so a round's query count depends on the rules, never on the subjects.
Each reader returns {fingerprint: Observation}.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from functools import cached_property

from django.db import connection
from django.db.models import Count, Max
from django.utils import timezone

from monitoring import histogram
from monitoring.health import stale_before, window_start
from monitoring.models import Breaker, BreakerFlip, CallBucket, Concurrency, Function, Service
from monitoring.writers import writer
from queues.models import Queue, Snapshot

from .lifecycle import Observation
from .models import Metric, Rule

CALL_METRICS = {
    Metric.ERROR_RATE,
    Metric.TIMEOUT_RATE,
    Metric.REJECTED_RATE,
    Metric.AVAILABILITY,
    Metric.CALL_VOLUME,
    Metric.RETRIES_PER_CALL,
}
LATENCY_METRICS = {Metric.P50_MS: 0.50, Metric.P95_MS: 0.95, Metric.P99_MS: 0.99}
BREAKER_METRICS = {Metric.BREAKER_OPEN_S, Metric.BREAKER_HALF_OPEN_S, Metric.BREAKER_FLIPS}
QUEUE_METRICS = {Metric.QUEUE_DEPTH, Metric.DEAD_LETTER, Metric.DEAD_LETTER_GROWTH, Metric.OLDEST_PENDING_AGE_S}
GLOB_CHARS = set("*?[")
# Each function's calls and latency histogram over a window, added up by the database.
TOTALS_SQL = (
    "SELECT function_id, SUM(success), SUM(failure), SUM(timeout), SUM(rejected), SUM(retries)"
    " FROM {table} WHERE minute >= %s{only} GROUP BY function_id"
)
HISTOGRAMS_SQL = (
    "SELECT function_id, h.key, SUM({value}) FROM {table}, {each} AS h"
    " WHERE minute >= %s{{only}} GROUP BY function_id, h.key"
)


@dataclass
class Totals:
    calls: int = 0
    success: int = 0
    failure: int = 0
    timeout: int = 0
    rejected: int = 0
    retries: int = 0


@dataclass
class QueueWindow:
    first_dead_letter: int
    last_depth: int
    last_dead_letter: int
    last_oldest_age_s: float | None


@dataclass(frozen=True)
class Wanted:
    """The function observations a caller uses: those whose value passes, and those of these
    fingerprints (its open alerts), whatever their value."""

    passes: Callable[[float | None], bool]
    fingerprints: Collection[str] = ()

    def among(self, values: dict[int, float | None]) -> dict[int, float | None]:
        kept = {fid: value for fid, value in values.items() if self.passes(value)}
        for fingerprint in self.fingerprints:
            kind, _, fid = fingerprint.partition(":")
            if kind == "function" and fid.isdigit() and int(fid) in values:
                kept[int(fid)] = values[int(fid)]
        return kept


@dataclass
class Round:
    now: datetime = field(default_factory=timezone.now)
    # Limit the round to these function ids (a breaker flip at ingest), or None for all.
    function_ids: set[int] | None = None
    _totals: dict[int, dict[int, Totals]] = field(default_factory=dict)
    _histograms: dict[int, dict[int, dict[str, int]]] = field(default_factory=dict)

    def fingerprints(self) -> list[str]:
        return [f"function:{fid}" for fid in self.function_ids or ()]

    def covers(self, fingerprint: str) -> bool:
        return self.function_ids is None or fingerprint in self.fingerprints()

    # A rule sees only its project's services (issue 17): each list is read once a round,
    # grouped by project, and a rule takes its project's part.
    @cached_property
    def functions(self) -> dict[int, list[tuple[int, str, str]]]:
        rows = Function.objects.values_list("service__project_id", "id", "service__name", "name")
        if self.function_ids is not None:
            rows = rows.filter(id__in=self.function_ids)
        return by_project(rows)

    @cached_property
    def function_index(self) -> dict[int, dict[int, tuple[int, str, str]]]:
        """Per project, each function's (place in `functions`, service name, name)."""
        return {
            project_id: {fid: (place, service, name) for place, (fid, service, name) in enumerate(rows)}
            for project_id, rows in self.functions.items()
        }

    @cached_property
    def queues(self) -> dict[int, list[tuple[int, str, str]]]:
        return by_project(Queue.objects.values_list("service__project_id", "id", "service__name", "name"))

    def totals(self, minutes: int) -> dict[int, Totals]:
        if minutes not in self._totals:
            rows = self._read(TOTALS_SQL, minutes)
            self._totals[minutes] = {
                function_id: Totals(s + f + t + r, s, f, t, r, retries) for function_id, s, f, t, r, retries in rows
            }
        return self._totals[minutes]

    def histograms(self, minutes: int) -> dict[int, dict[str, int]]:
        if minutes not in self._histograms:
            engine = writer()
            table = CallBucket._meta.db_table
            sql = HISTOGRAMS_SQL.format(table=table, each=engine.each(table), value=engine.histogram_value)
            merged: dict[int, dict[str, int]] = defaultdict(dict)
            # Merged by the database: a row per function and bucket, not per minute bucket, and
            # no JSON decoded in Python.
            with engine.without_jit():
                for function_id, key, count in self._read(sql, minutes):
                    merged[function_id][key] = int(count)
            self._histograms[minutes] = merged
        return self._histograms[minutes]

    def _read(self, sql: str, minutes: int) -> list[tuple]:
        """Rows of a statement over the window's minute buckets, grouped by function (and
        more): raw rows, so no ORM converter runs per row."""
        params: list = [connection.ops.adapt_datetimefield_value(window_start(minutes, self.now))]
        only = ""
        if self.function_ids is not None:
            only = f" AND function_id IN ({', '.join('%s' for _ in self.function_ids) or 'NULL'})"
            params += sorted(self.function_ids)
        with connection.cursor() as cursor:
            cursor.execute(sql.format(table=CallBucket._meta.db_table, only=only), params)
            return cursor.fetchall()

    @cached_property
    def breakers(self) -> dict[int, dict[str, datetime]]:
        """Per function, the earliest `since` of its instances in each non-closed state."""
        # An instance that stopped reporting says nothing of its breaker now: not counted.
        rows = Breaker.objects.exclude(state="closed").filter(updated__gte=stale_before(self.now))
        rows = rows.values_list("function_id", "state", "since")
        if self.function_ids is not None:
            rows = rows.filter(function_id__in=self.function_ids)
        found: dict[int, dict[str, datetime]] = defaultdict(dict)
        for function_id, state, since in rows:
            current = found[function_id].get(state)
            found[function_id][state] = since if current is None else min(current, since)
        return found

    def flips(self, minutes: int) -> dict[int, int]:
        # An instance's first report (old_state "") is not a change of state: no flap.
        rows = BreakerFlip.objects.filter(at__gte=self.now - timedelta(minutes=minutes)).exclude(old_state="")
        if self.function_ids is not None:
            rows = rows.filter(function_id__in=self.function_ids)
        return dict(rows.values("function_id").annotate(n=Count("id")).values_list("function_id", "n"))

    def utilisation(self, minutes: int) -> dict[int, float]:
        found: dict[int, float] = {}
        rows = Concurrency.objects.filter(at__gte=self.now - timedelta(minutes=minutes), limit__gt=0)
        for function_id, active, limit in rows.values_list("function_id", "active", "limit"):
            found[function_id] = max(found.get(function_id, 0.0), active / limit)
        return found

    def queue_windows(self, minutes: int) -> dict[int, QueueWindow]:
        rows = Snapshot.objects.filter(at__gte=self.now - timedelta(minutes=minutes)).order_by("queue_id", "at")
        found: dict[int, QueueWindow] = {}
        for queue_id, depth, dead, age in rows.values_list("queue_id", "depth", "dead_letter", "oldest_age_s"):
            window = found.get(queue_id)
            if window is None:
                found[queue_id] = QueueWindow(dead, depth, dead, age)
            else:
                window.last_depth, window.last_dead_letter, window.last_oldest_age_s = depth, dead, age
        return found

    @cached_property
    def last_seen(self) -> dict[int, tuple[str, datetime, int]]:
        services = {sid: (name, project) for sid, name, project in Service.objects.values_list("id", "name", "project")}
        seen: dict[int, datetime] = {}
        for model in (Function, Queue):
            for service_id, at in (
                model.objects.values("service_id").annotate(at=Max("last_seen")).values_list("service_id", "at")
            ):
                if at is not None and (service_id not in seen or at > seen[service_id]):
                    seen[service_id] = at
        return {sid: (services[sid][0], at, services[sid][1]) for sid, at in seen.items() if sid in services}

    def observe(self, rule: Rule, wanted: Wanted | None = None) -> dict[str, Observation]:
        """The rule's observations; with `wanted`, at least those it keeps (the others of
        10,000 functions need not be built when the caller would drop them)."""
        metric = rule.metric
        if metric in CALL_METRICS or metric in LATENCY_METRICS:
            return self.call_observations(rule, wanted)
        if metric in BREAKER_METRICS or metric == Metric.CONCURRENCY_UTILISATION:
            return self.function_observations(rule, self.function_values(rule), wanted)
        if metric in QUEUE_METRICS:
            return self.queue_observations(rule)
        if metric == Metric.REPORTER_SILENT_MINUTES:
            return self.silence_observations(rule)
        raise ValueError(f"unknown metric {metric!r}")

    def call_observations(self, rule: Rule, wanted: Wanted | None = None) -> dict[str, Observation]:
        totals = self.totals(rule.window_minutes)
        subjects = in_scope(self.functions.get(rule.project_id, []), rule)
        values: dict[int, float | None] = {}
        if rule.metric == Metric.CALL_VOLUME:
            for function_id, _, _ in subjects:
                found = totals.get(function_id)
                values[function_id] = float(found.calls if found else 0)
            return self.function_observations(rule, values, wanted)
        value_of = self.call_value_of(rule)
        least = rule.min_calls
        for function_id, _, _ in subjects:
            found = totals.get(function_id)
            if found is not None and found.calls and found.calls >= least:
                values[function_id] = value_of(function_id, found)
        return self.function_observations(rule, values, wanted)

    def call_value_of(self, rule: Rule) -> Callable[[int, Totals], float | None]:
        """The rule's value of a function from its totals (a latency rule: from its histogram),
        picked once per rule, not once per function."""
        metric = rule.metric
        if metric in LATENCY_METRICS:
            # Read at the first function with enough calls: a round with none reads nothing.
            minutes, q = rule.window_minutes, LATENCY_METRICS[metric]
            return lambda function_id, _: histogram.percentile(self.histograms(minutes).get(function_id, {}), q)
        return {
            Metric.ERROR_RATE: lambda _, t: (t.failure + t.timeout + t.rejected) / t.calls,
            Metric.TIMEOUT_RATE: lambda _, t: t.timeout / t.calls,
            Metric.REJECTED_RATE: lambda _, t: t.rejected / t.calls,
            Metric.AVAILABILITY: lambda _, t: t.success / t.calls,
            Metric.RETRIES_PER_CALL: lambda _, t: t.retries / t.calls,
        }[metric]

    def function_values(self, rule: Rule) -> dict[int, float | None]:
        metric = rule.metric
        if metric == Metric.BREAKER_FLIPS:
            return {fid: float(n) for fid, n in self.flips(rule.window_minutes).items()}
        if metric == Metric.CONCURRENCY_UTILISATION:
            return dict(self.utilisation(rule.window_minutes))
        state = "open" if metric == Metric.BREAKER_OPEN_S else "half_open"
        return {
            fid: (self.now - states[state]).total_seconds() for fid, states in self.breakers.items() if state in states
        }

    def function_observations(
        self, rule: Rule, values: dict[int, float | None], wanted: Wanted | None = None
    ) -> dict[str, Observation]:
        if wanted is not None:
            values = wanted.among(values)
        # From the values (a few, once `wanted` kept what can change an alert), not from the
        # 10,000 functions; in the functions' order, as the rule's scope lists them.
        index = self.function_index.get(rule.project_id, {})
        everything = rule.service == "*" and rule.subject == "*"
        found = []
        for fid, value in values.items():
            row = index.get(fid)
            if value is None or row is None:
                continue
            place, service, name = row
            if everything or (matches(service, rule.service) and matches(name, rule.subject)):
                found.append((place, Observation(f"function:{fid}", service, name, value)))
        found.sort(key=lambda item: item[0])
        return {observation.fingerprint: observation for _, observation in found}

    def queue_observations(self, rule: Rule) -> dict[str, Observation]:
        windows = self.queue_windows(rule.window_minutes)
        found = {}
        for qid, service, name in in_scope(self.queues.get(rule.project_id, []), rule):
            window = windows.get(qid)
            if window is None:
                continue
            value = {
                Metric.QUEUE_DEPTH: float(window.last_depth),
                Metric.DEAD_LETTER: float(window.last_dead_letter),
                Metric.DEAD_LETTER_GROWTH: float(window.last_dead_letter - window.first_dead_letter),
                Metric.OLDEST_PENDING_AGE_S: window.last_oldest_age_s,
            }[rule.metric]
            if value is not None:
                found[f"queue:{qid}"] = Observation(f"queue:{qid}", service, name, value)
        return found

    def silence_observations(self, rule: Rule) -> dict[str, Observation]:
        found = {}
        for sid, (service, at, project_id) in self.last_seen.items():
            if project_id == rule.project_id and matches(service, rule.service):
                minutes = (self.now - at).total_seconds() / 60
                found[f"service:{sid}"] = Observation(f"service:{sid}", service, service, minutes)
        return found


def by_project(rows: Iterable[tuple[int, int, str, str]]) -> dict[int, list[tuple[int, str, str]]]:
    """(project id, id, service name, name) rows as {project id: [(id, service name, name)]}."""
    found: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    for project_id, *row in rows:
        found[project_id].append(tuple(row))
    return found


def matches(name: str, pattern: str) -> bool:
    return pattern == "*" or fnmatchcase(name, pattern)


def in_scope(subjects: list[tuple[int, str, str]], rule: Rule) -> list[tuple[int, str, str]]:
    if rule.service == "*" and rule.subject == "*":
        return subjects
    return [row for row in subjects if matches(row[1], rule.service) and matches(row[2], rule.subject)]
