"""The last 20 outcomes of each function, kept as small fixed-width strips per shard."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from .batch import AnyCall
from .models import ENTRY_WIDTH, LETTER_OUTCOMES, OUTCOME_LETTERS, STRIP_LENGTH, OutcomeStrip


def encode(calls: list[AnyCall], times: dict[datetime, str] | None = None) -> str:
    """The newest STRIP_LENGTH calls, oldest first, as entries; calls must be sorted by ts.
    An entry standing for count calls gives as many entries (up to the strip's length).
    times: each time's epoch milliseconds as written, kept across calls (a batch's calls
    share few times)."""
    entries: list[str] = []
    times = {} if times is None else times
    for call in reversed(calls[-STRIP_LENGTH:]):
        at = times.get(call.ts)
        if at is None:
            at = times[call.ts] = f"{int(call.ts.timestamp() * 1000):013d}"
        entry = at + OUTCOME_LETTERS[call.outcome]
        entries += [entry] * min(call.count, STRIP_LENGTH - len(entries))
        if len(entries) == STRIP_LENGTH:
            break
    return "".join(reversed(entries))


def newest(strips: list[str]) -> list[str]:
    entries = [strip[i : i + ENTRY_WIDTH] for strip in strips for i in range(0, len(strip), ENTRY_WIDTH)]
    entries.sort()  # fixed-width epoch milliseconds first, so text order is time order
    return [LETTER_OUTCOMES[entry[-1]] for entry in entries[-STRIP_LENGTH:]]


def recent_outcomes(function_ids: list[int]) -> dict[int, list[str]]:
    strips: dict[int, list[str]] = defaultdict(list)
    for function_id, entries in OutcomeStrip.objects.filter(function_id__in=function_ids).values_list(
        "function_id", "entries"
    ):
        strips[function_id].append(entries)
    return {function_id: newest(its_strips) for function_id, its_strips in strips.items()}
