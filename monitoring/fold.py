"""Fold a batch's calls in memory by (function, minute) before anything is written.

One pass over the calls does every fold the steady ingest needs (per function and per
minute). A batch's calls share few times and latencies, so a time's minute and strip entry,
and a latency's histogram bucket, are worked out once a batch each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from operator import attrgetter

from . import histogram
from .batch import AnyCall
from .models import OUTCOME_LETTERS, STRIP_LENGTH
from .outcomes import KEEP, encode


@dataclass
class MinuteFold:
    success: int = 0
    failure: int = 0
    timeout: int = 0
    rejected: int = 0
    retries: int = 0
    latency_sum_ms: float = 0.0
    latency_max_ms: float = 0.0
    histogram: dict[str, int] = field(default_factory=dict)

    def copy(self) -> MinuteFold:
        """A fold of its own with the same sums (dataclasses.replace costs five times as much)."""
        return MinuteFold(
            self.success,
            self.failure,
            self.timeout,
            self.rejected,
            self.retries,
            self.latency_sum_ms,
            self.latency_max_ms,
            dict(self.histogram),
        )

    def add(self, other: MinuteFold) -> None:
        """Another fold of the same function and minute added in (as the upserts add them)."""
        self.success += other.success
        self.failure += other.failure
        self.timeout += other.timeout
        self.rejected += other.rejected
        self.retries += other.retries
        self.latency_sum_ms += other.latency_sum_ms
        self.latency_max_ms = max(self.latency_max_ms, other.latency_max_ms)
        histogram.merge(self.histogram, other.histogram)


@dataclass
class FunctionFold:
    last_seen: datetime
    calls: list[AnyCall]  # the function's calls in the batch, in time order
    # Shared by the batch's folds: each time's strip entry (without its letter), and its minute.
    times: dict[datetime, str] = field(repr=False)
    minute_at: dict[datetime, datetime] = field(repr=False)
    encoded: str | None = field(default=None, repr=False)  # strip, once worked out (or given)
    # Each call's strip entry in the calls' order, when fold_calls found them in time order.
    entries: list[str] | None = field(default=None, repr=False)

    @property
    def strip(self) -> str:
        """The batch's newest outcomes of the function, encoded as in OutcomeStrip.entries.

        Worked out once, without functools.cached_property: before Python 3.12 that takes a
        lock on every first read, and a batch has a strip per function."""
        encoded = self.encoded
        if encoded is None and self.entries is not None:  # encode()'s result, its entries made already
            encoded = self.encoded = "".join(self.entries[-STRIP_LENGTH:])[-KEEP:]
        elif encoded is None:
            encoded = self.encoded = encode(self.calls, self.times)
        return encoded

    def encode_strip(self) -> str:
        """strip, worked out now (on this thread) if it was not yet."""
        return self.strip

    def strips_by_minute(self) -> list[tuple[datetime, str]]:
        """(minute, the newest outcomes of the function's calls in that minute), as
        CallBucket.outcomes holds them."""
        calls, minute_at = self.calls, self.minute_at
        first = minute_at[calls[0].ts]
        if minute_at[calls[-1].ts] == first:  # a batch's calls mostly share their minute
            return [(first, self.strip)]
        return [
            (minute, encode(list(its_calls), self.times))
            for minute, its_calls in groupby(calls, key=lambda call: minute_at[call.ts])
        ]


Minutes = dict[tuple[int, datetime], MinuteFold]
Functions = dict[int, FunctionFold]


def minute_of(ts: datetime) -> datetime:
    return ts.replace(second=0, microsecond=0)


def fold_calls(
    calls: list[AnyCall], function_ids: dict[str, int], minute_at: dict[datetime, datetime] | None = None
) -> tuple[Functions, Minutes]:
    """Per function its newest call time and newest outcomes; per (function, minute) the
    counts, the latency sum and maximum and the latency histogram. minute_at, if given, is
    filled with each time's minute (for the errors' fold)."""
    minutes: Minutes = {}
    by_function: dict[int, list[AnyCall]] = {}
    minute_at = {} if minute_at is None else minute_at
    stamp_at: dict[datetime, tuple[datetime, str]] = {}  # a time's minute and strip entry (no letter)
    entries: dict[int, list[str]] = {}  # each function's strip entries, in the calls' order
    unordered: set[int] = set()  # functions whose calls came out of time order
    bucket_at: dict[float, str] = {}
    for call in calls:
        function_id = function_ids[call.function]
        ts = call.ts
        stamp = stamp_at.get(ts)
        if stamp is None:
            minute = minute_at[ts] = ts.replace(second=0, microsecond=0)
            stamp = stamp_at[ts] = (minute, f"{int(ts.timestamp() * 1000):013d}")
        minute, entry = stamp
        count = call.count
        outcome = call.outcome
        entry += OUTCOME_LETTERS[outcome]  # as encode() writes it
        if count != 1:
            entry *= min(count, STRIP_LENGTH)
        its_calls = by_function.get(function_id)
        if its_calls is None:
            by_function[function_id] = [call]
            entries[function_id] = [entry]
        else:
            if ts < its_calls[-1].ts:
                unordered.add(function_id)
            its_calls.append(call)
            entries[function_id].append(entry)
        key = (function_id, minute)
        fold = minutes.get(key)
        if fold is None:
            fold = minutes[key] = MinuteFold()
        if outcome == "success":
            fold.success += count
        elif outcome == "failure":
            fold.failure += count
        elif outcome == "timeout":
            fold.timeout += count
        else:
            fold.rejected += count
        if call.retries:
            fold.retries += call.retries * count
        duration = call.duration_ms
        fold.latency_sum_ms += duration * count
        if duration > fold.latency_max_ms:
            fold.latency_max_ms = duration
        bucket = bucket_at.get(duration)
        if bucket is None:
            bucket = bucket_at[duration] = str(histogram.bucket_of(duration))
        counts = fold.histogram
        counts[bucket] = counts.get(bucket, 0) + count
    functions: Functions = {}
    times = {ts: at for ts, (_, at) in stamp_at.items()}  # a time's strip entry without its outcome letter
    for function_id, its_calls in by_function.items():
        if function_id in unordered:  # its strip is encoded from its calls once sorted
            its_calls.sort(key=call_time)
            functions[function_id] = FunctionFold(its_calls[-1].ts, its_calls, times, minute_at)
        else:
            functions[function_id] = FunctionFold(
                its_calls[-1].ts, its_calls, times, minute_at, None, entries[function_id]
            )
    return functions, minutes


call_time = attrgetter("ts")  # a call's time (a sort key without a Python call per call)
