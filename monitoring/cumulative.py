"""Cumulative streams turned into increments: what happened between two points of a stream.

A cumulative stream (a counter, or a histogram's count, bucket counts and sum) reports totals
since its start time. Its last point is kept (CumulativePoint) so the next one becomes the
difference. A point whose start time changed, or whose counts went down, follows a reset (the
process restarted): the whole point is new. The first point of a stream counts whole only when
its start is recent (FRESH_NS): an older total may hold hours of calls that would all land in
one minute, so it only sets the baseline.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import orjson
from django.utils import timezone

from .models import CumulativePoint, Service

FRESH_NS = 5 * 60 * 1_000_000_000


@dataclass
class Reading:
    """counts: [count, bucket counts...] (a counter: [value]); layout: what the buckets are
    (a histogram's bounds, or an exponential histogram's scale and offset)."""

    start_ns: int
    time_ns: int
    counts: list[float]
    total: float = 0.0
    layout: list = field(default_factory=list)

    def same_buckets(self, earlier: CumulativePoint) -> bool:
        return self.layout == earlier.layout and len(self.counts) == len(earlier.counts)

    def minus(self, earlier: CumulativePoint) -> Reading:
        if not self.same_buckets(earlier):
            # The buckets moved (an exponential histogram rescaled as its range grew): only the
            # totals compare, so the increment has a count and a sum and no buckets.
            return Reading(
                earlier.time_ns, self.time_ns, [self.counts[0] - earlier.counts[0]], self.total - earlier.total
            )
        counts = [now - then for now, then in zip(self.counts, earlier.counts, strict=True)]
        return Reading(earlier.time_ns, self.time_ns, counts, self.total - earlier.total, self.layout)

    def follows_reset(self, earlier: CumulativePoint) -> bool:
        if self.start_ns and self.start_ns != earlier.start_ns:
            return True
        if not self.same_buckets(earlier):
            return self.counts[0] < earlier.counts[0]
        return any(now < then for now, then in zip(self.counts, earlier.counts, strict=True))


def stream_key(*parts: object) -> str:
    return hashlib.sha256(orjson.dumps(parts)).hexdigest()


def increments(service: Service, readings: dict[str, Reading]) -> tuple[dict[str, Reading], dict[str, Reading]]:
    """(the increment of each stream that has one, the readings to remember).

    Locks the streams' last points until the caller's transaction ends, so two exports of one
    stream cannot both count the same increment.
    """
    if not readings:
        return {}, {}
    last = {
        point.stream: point
        for point in CumulativePoint.objects.select_for_update()
        .filter(service=service, stream__in=sorted(readings))
        .order_by("stream")
    }
    found, keep = {}, {}
    for stream, reading in readings.items():
        earlier = last.get(stream)
        if earlier is None:
            keep[stream] = reading
            if reading.start_ns and 0 <= reading.time_ns - reading.start_ns <= FRESH_NS:
                found[stream] = reading
        elif reading.follows_reset(earlier):
            found[stream] = keep[stream] = reading
        elif reading.time_ns > earlier.time_ns:
            found[stream] = reading.minus(earlier)
            keep[stream] = reading
        # else: an older or repeated point; nothing new, and the newer one stays.
    return found, keep


def remember(service: Service, readings: dict[str, Reading]) -> None:
    now = timezone.now()
    CumulativePoint.objects.bulk_create(
        [
            CumulativePoint(
                service=service,
                stream=stream,
                start_ns=reading.start_ns,
                time_ns=reading.time_ns,
                counts=reading.counts,
                total=reading.total,
                layout=reading.layout,
                seen=now,
            )
            for stream, reading in sorted(readings.items())
        ],
        update_conflicts=True,
        unique_fields=["service", "stream"],
        update_fields=["start_ns", "time_ns", "counts", "total", "layout", "seen"],
    )
