"""The minute's fold of the Prometheus totals does not stall ingest (PostgreSQL): batches are
written while a fold runs, and a scrape waits for the fold so its counters never go back."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, timedelta

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from monitoring import totals
from monitoring.models import Function
from tests.conftest import TEST_DB, Reporter, call

pytestmark = pytest.mark.skipif(TEST_DB != "postgres", reason="row and table locks are PostgreSQL's (TEST_DB=postgres)")


def in_thread(work: Callable[[], object]) -> tuple[threading.Thread, list]:
    """work() run in a thread of its own (its own database connection); its result in the list."""
    done: list = []

    def run() -> None:
        try:
            done.append(work())
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, done


def test_ingest_goes_on_while_a_fold_runs_and_a_scrape_waits_for_it(transactional_db: None, token: str) -> None:
    settled_minute = totals.settled(timezone.now())
    reporter = Reporter(Client(), token)
    late = {**call("charge"), "ts": (settled_minute + timedelta(seconds=5)).astimezone(UTC).isoformat()}
    assert reporter.post({"calls": [late] * 3}).status_code == 202
    totals.mark()  # counting begins at the settled minute: the fold adds these 3 calls
    charge = Function.objects.get(name="charge").id

    folding, release = threading.Event(), threading.Event()

    def hold_a_fold() -> int | None:
        with transaction.atomic():  # the fold's locks are held until this ends
            added = totals.fold_once(timezone.now() + timedelta(minutes=6))
            folding.set()
            release.wait(30)
        return added

    fold, folded = in_thread(hold_a_fold)
    assert folding.wait(10)

    # A batch for the current minute, and a late one into the minute being folded: both
    # answered while the fold holds its transaction open.
    started = time.monotonic()
    writes, answers = in_thread(
        lambda: [
            Reporter(Client(), token).post({"calls": [call("charge")] * 2}).status_code,
            Reporter(Client(), token).post({"calls": [late]}).status_code,
        ]
    )
    writes.join(10)
    assert answers == [[202, 202]], "ingest waited for the fold"
    assert time.monotonic() - started < 10

    # A scrape waits until the fold commits.
    scrape, scraped = in_thread(lambda: totals.current()[charge].calls)
    scrape.join(1)
    assert scrape.is_alive(), "the scrape read while the fold was under way"
    release.set()
    fold.join(10)
    scrape.join(10)
    assert folded == [1]
    # The fold read its minute before the late call committed: that one is past the totals
    # (as any call reported after its minute was folded), and no scrape ever counted it.
    assert scraped == [3 + 2]
    assert totals.current()[charge].calls == 3 + 2
