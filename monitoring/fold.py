"""Fold a batch's calls in memory by (function, minute) before anything is written."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from . import histogram
from .batch import AnyCall
from .outcomes import encode


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

    def add(self, call: AnyCall) -> None:
        count = call.count
        setattr(self, call.outcome, getattr(self, call.outcome) + count)
        self.retries += call.retries * count
        self.latency_sum_ms += call.duration_ms * count
        if call.duration_ms > self.latency_max_ms:
            self.latency_max_ms = call.duration_ms
        bucket = str(histogram.bucket_of(call.duration_ms))
        self.histogram[bucket] = self.histogram.get(bucket, 0) + count


@dataclass
class FunctionFold:
    last_seen: datetime
    strip: str  # the batch's newest outcomes, encoded as in OutcomeStrip.entries


def minute_of(ts: datetime) -> datetime:
    return ts.replace(second=0, microsecond=0)


def fold_minutes(calls: list[AnyCall], function_ids: dict[str, int]) -> dict[tuple[int, datetime], MinuteFold]:
    folds: dict[tuple[int, datetime], MinuteFold] = defaultdict(MinuteFold)
    for call in calls:
        folds[(function_ids[call.function], minute_of(call.ts))].add(call)
    return folds


def fold_functions(calls: list[AnyCall], function_ids: dict[str, int]) -> dict[int, FunctionFold]:
    """Per function: the newest call time and its newest outcomes."""
    by_function: dict[int, list[AnyCall]] = defaultdict(list)
    for call in calls:
        by_function[function_ids[call.function]].append(call)
    folds = {}
    for function_id, its_calls in by_function.items():
        its_calls.sort(key=lambda call: call.ts)
        folds[function_id] = FunctionFold(last_seen=its_calls[-1].ts, strip=encode(its_calls))
    return folds
