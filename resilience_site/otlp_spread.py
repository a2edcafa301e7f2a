"""A histogram's bucket counts turned back into latencies, for our own histogram to fold.

An OTLP histogram says how many calls fell between each pair of bounds, not their values. The
calls of one bucket are spread evenly over its bounds, on a log scale as our own buckets are
(linearly in a bucket starting at 0), clamped to the point's min and max when it has them.
A percentile read back is then within the bucket that holds it: within 5 % of the exact value
when the exporter's bounds are at most 10 % apart, as coarse as its buckets otherwise.

Values come weighted, (latency, calls at it): a bucket's calls are spread over at most SLOTS
latencies, so a point standing for 100,000 calls costs no more to store than one of 100.
"""

from __future__ import annotations

import math
from itertools import compress

INF = math.inf
SLOTS = 32  # latencies a bucket's calls are spread over, at most (each 1/32 of its calls)

Weighted = list[tuple[float, int]]  # (latency, how many calls took it)


def between(low: float, high: float, n: int) -> Weighted:
    """n calls spread evenly from low to high (log-spaced when low > 0), over at most SLOTS
    values: past SLOTS calls, each value stands for n // SLOTS of them or one more."""
    if high <= low:
        return [(max(low, 0.0), n)]
    if n == 1:  # the formulas below for k = 0, slots = 1, written out
        return [(max(low + (high - low) * 0.5, 0.0), 1)] if low <= 0 else [(low * (high / low) ** 0.5, 1)]
    slots = min(n, SLOTS)
    weights = [n // slots + (k < n % slots) for k in range(slots)]
    if low <= 0:
        return [(max(low + (high - low) * (k + 0.5) / slots, 0.0), weights[k]) for k in range(slots)]
    ratio = high / low
    return [(low * ratio ** ((k + 0.5) / slots), weights[k]) for k in range(slots)]


def spread(
    edges: list[tuple[float, float]], counts: list[float], low: float | None, high: float | None, mean: float
) -> Weighted:
    """Weighted values for counts[i] calls (rounded) between edges[i] (lower, upper), each
    bound by [low, high]."""
    if len(edges) != len(counts):
        raise ValueError(f"{len(counts)} counts for {len(edges)} buckets")
    values: Weighted = []
    for i in compress(range(len(counts)), counts):  # the buckets with calls: the empty ones skipped in C
        count = counts[i]
        if count <= 0 or (n := round(count)) <= 0:
            continue
        lower, upper = edges[i]
        lower = max(lower, low) if low is not None else lower
        upper = min(upper, high) if high is not None else upper
        if lower == -INF:
            lower = 0.0 if upper > 0 else upper
        if upper == INF:
            upper = max(lower, mean)  # the overflow bucket: above its bound, by the mean at most
        values.extend(between(lower, upper, n))
    return values


def explicit_edges(bounds: list[float]) -> list[tuple[float, float]]:
    """OTLP explicit bounds [b0, b1, ...] -> buckets (-inf, b0], (b0, b1], ..., (bn, +inf)."""
    points = [-INF, *bounds, INF]
    return list(zip(points, points[1:], strict=False))


def exponential_edges(scale: int, offset: int, buckets: int) -> list[tuple[float, float]]:
    """Positive buckets of an OTLP exponential histogram: index i is (base**i, base**(i+1)]."""
    base = 2.0 ** (2.0**-scale)
    return [(base ** (offset + i), base ** (offset + i + 1)) for i in range(buckets)]
