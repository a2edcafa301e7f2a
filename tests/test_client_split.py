from __future__ import annotations

import pytest

from resilience_client import Reporter
from tests.conftest import stored_calls


@pytest.fixture
def subprocess_env(subprocess_env: dict[str, str]) -> dict[str, str]:
    return {**subprocess_env, "MONITOR_MAX_BATCH_ITEMS": "8"}


@pytest.mark.django_db(transaction=True)
def test_it_splits_a_batch_the_monitor_finds_too_large(live_site: str, token: str) -> None:
    reporter = Reporter(live_site, token, flush_interval=60, max_batch=30)
    for n in range(30):
        reporter.record_call("charge_card", float(n))
    assert reporter.flush(10)

    # 30 -> 413; 15 + 15 -> 413; 8 + 7 + 8 + 7 -> accepted.
    stats = reporter.stats()
    assert (stats["sent"], stats["batches"], stats["dropped"], stats["failed"]) == (30, 4, 0, 0)
    calls = stored_calls(function__name="charge_card")
    assert (calls.success, calls.latency_sum_ms) == (30, sum(range(30)))
