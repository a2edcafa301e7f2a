"""Latency histograms with log-spaced buckets.

Bucket i holds latencies in [MIN_MS * GROWTH**i, MIN_MS * GROWTH**(i+1)). A percentile is
read as the bucket's geometric midpoint, so it is within sqrt(GROWTH) - 1 (about 2.5 %) of
the exact value for any latency from MIN_MS up. Histograms are sparse dicts
{bucket index as str: count} so they store as JSON and merge by adding.
"""

from __future__ import annotations

import math

MIN_MS = 0.01
GROWTH = 1.05
_LOG_GROWTH = math.log(GROWTH)


def bucket_of(duration_ms: float) -> int:
    if duration_ms <= MIN_MS:
        return 0
    return int(math.log(duration_ms / MIN_MS) / _LOG_GROWTH)


def value_of(bucket: int) -> float:
    return MIN_MS * GROWTH ** (bucket + 0.5)


def merge(into: dict[str, int], other: dict[str, int]) -> dict[str, int]:
    for key, count in other.items():
        into[key] = into.get(key, 0) + count
    return into


def percentile(histogram: dict[str, int], q: float) -> float | None:
    """The nearest-rank q-th percentile (0 < q <= 1), or None for an empty histogram."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for bucket in sorted(histogram, key=int):
        seen += histogram[bucket]
        if seen >= rank:
            return value_of(int(bucket))
    return value_of(int(max(histogram, key=int)))
