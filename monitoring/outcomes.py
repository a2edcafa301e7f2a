"""The last 20 outcomes of each function, kept as small fixed-width strips.

On PostgreSQL the minute buckets hold them (CallBucket.outcomes, written with the counts);
the strips (OutcomeStrip) hold those written before, and those of bucket rows retention
deleted. On SQLite the strips hold them all. Readers merge both by time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from .batch import AnyCall
from .models import ENTRY_WIDTH, LETTER_OUTCOMES, OUTCOME_LETTERS, STRIP_LENGTH, OutcomeStrip

KEEP = STRIP_LENGTH * ENTRY_WIDTH


def encode(calls: list[AnyCall], times: dict[datetime, str] | None = None) -> str:
    """The newest STRIP_LENGTH calls, oldest first, as entries; calls must be sorted by ts.
    An entry standing for count calls gives as many entries (up to the strip's length).
    times: each time's epoch milliseconds as written, kept across calls (a batch's calls
    share few times)."""
    parts: list[str] = []
    times = {} if times is None else times
    for call in calls[-STRIP_LENGTH:]:
        at = times.get(call.ts)
        if at is None:
            at = times[call.ts] = f"{int(call.ts.timestamp() * 1000):013d}"
        entry = at + OUTCOME_LETTERS[call.outcome]
        parts.append(entry if call.count == 1 else entry * min(call.count, STRIP_LENGTH))
    return "".join(parts)[-KEEP:]  # fixed-width entries: the newest STRIP_LENGTH


def newest_entries(strips: list[str]) -> list[str]:
    """The newest STRIP_LENGTH entries of these strips, oldest first."""
    entries = [strip[i : i + ENTRY_WIDTH] for strip in strips for i in range(0, len(strip), ENTRY_WIDTH)]
    entries.sort()  # fixed-width epoch milliseconds first, so text order is time order
    return entries[-STRIP_LENGTH:]


def newest(strips: list[str]) -> list[str]:
    return [LETTER_OUTCOMES[entry[-1]] for entry in newest_entries(strips)]


def recent_outcomes(function_ids: list[int]) -> dict[int, list[str]]:
    from .writers import writer  # the writer's module folds calls with encode() above

    strips: dict[int, list[str]] = defaultdict(list)
    for function_id, entries in OutcomeStrip.objects.filter(function_id__in=function_ids).values_list(
        "function_id", "entries"
    ):
        strips[function_id].append(entries)
    for function_id, entries in writer().bucket_outcomes(function_ids):
        strips[function_id].append(entries)
    return {function_id: newest(its_strips) for function_id, its_strips in strips.items()}


def carry_over(rows: Iterable[tuple[int, str]]) -> None:
    """Keep the outcomes of bucket rows about to be deleted (function id, entries) in the
    functions' strips (shard 0), merged with what those hold: a function whose last calls
    are older than the minute buckets' retention still shows them. In the caller's transaction."""
    carried: dict[int, list[str]] = defaultdict(list)
    for function_id, entries in rows:
        if entries:
            carried[function_id].append(entries)
    if not carried:
        return
    for strip in OutcomeStrip.objects.select_for_update().filter(function_id__in=list(carried), shard=0):
        carried[strip.function_id].append(strip.entries)
    OutcomeStrip.objects.bulk_create(
        [
            OutcomeStrip(function_id=function_id, shard=0, entries="".join(newest_entries(strips)))
            for function_id, strips in sorted(carried.items())
        ],
        update_conflicts=True,
        unique_fields=["function", "shard"],
        update_fields=["entries"],
    )
