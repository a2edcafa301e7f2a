"""A batch's outcome strips come out the same however its calls are ordered or counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitoring.batch import AnyCall, Call, CountedCall
from monitoring.fold import fold_calls
from monitoring.outcomes import encode

START = datetime(2026, 11, 30, 12, 0, 30, tzinfo=UTC)
IDS = {"pay": 1, "ship": 2}


def a_call(function: str, seconds: int, outcome: str, count: int = 1) -> AnyCall:
    fields = {"function": function, "ts": START + timedelta(seconds=seconds), "duration_ms": 3.0, "outcome": outcome}
    return CountedCall(**fields, count=count) if count != 1 else Call(**fields)


def strips(calls: list[AnyCall]) -> dict[int, str]:
    functions, _ = fold_calls(calls, IDS)
    return {function_id: fold.strip for function_id, fold in functions.items()}


def expected(calls: list[AnyCall]) -> dict[int, str]:
    return {
        function_id: encode(sorted((c for c in calls if c.function == name), key=lambda c: c.ts))
        for name, function_id in IDS.items()
        if any(c.function == name for c in calls)
    }


def test_calls_in_time_order_give_the_newest_outcomes_oldest_first() -> None:
    calls = [a_call("pay", i, "success" if i % 3 else "failure") for i in range(30)] + [a_call("ship", 5, "timeout")]
    got = strips(calls)
    assert got == expected(calls)
    letters = [got[1][i + 13] for i in range(0, len(got[1]), 14)]
    assert letters == ["s" if i % 3 else "f" for i in range(10, 30)]  # the 20 newest, oldest first
    assert got[2].endswith("t")


def test_calls_out_of_time_order_give_the_same_strip_as_sorted() -> None:
    calls = [a_call("pay", 40, "failure"), a_call("pay", -20, "success"), a_call("ship", 3, "rejected")]
    calls += [a_call("pay", 10, "timeout"), a_call("pay", 95, "success")]
    got = strips(calls)
    assert got == expected(calls)
    assert got[1][-1] == "s" and got[1][-15] == "f"  # the newest (95 s) last, then 40 s


def test_counted_calls_stand_for_as_many_entries() -> None:
    calls = [a_call("pay", 1, "success", count=3), a_call("pay", 2, "failure", count=50)]
    got = strips(calls)
    assert got == expected(calls)
    assert got[1] == encode([calls[1]])  # 50 failures fill the strip
