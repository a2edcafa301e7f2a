"""A retried batch counts once, however it is retried."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import Client

from monitoring.models import IngestBatch
from tests.conftest import Reporter, call, stored_calls


def test_a_replayed_batch_id_counts_nothing_and_returns_the_first_answer(reporter: Reporter) -> None:
    batch = {"batch_id": "b-1", "calls": [call(), call()]}
    first = reporter.post(batch)
    again = reporter.post(batch)
    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json() == {**first.json(), "duplicate": True}
    assert stored_calls().success == 2


def test_the_idempotency_key_header_works_like_a_batch_id(reporter: Reporter) -> None:
    batch = {"calls": [call()]}
    assert reporter.post(batch, **{"Idempotency-Key": "k-1"}).status_code == 202
    assert reporter.post(batch, **{"Idempotency-Key": "k-1"}).status_code == 200
    assert reporter.post(batch, **{"Idempotency-Key": "k-2"}).status_code == 202
    assert stored_calls().success == 2


def test_the_same_key_with_another_body_is_a_conflict(reporter: Reporter) -> None:
    assert reporter.post({"batch_id": "b-1", "calls": [call()]}).status_code == 202
    r = reporter.post({"batch_id": "b-1", "calls": [call(), call()]})
    assert r.status_code == 409
    assert r.json()["field"] == "batch_id"
    assert stored_calls().success == 1


def test_a_refused_batch_does_not_use_up_its_key(reporter: Reporter) -> None:
    bad = {"batch_id": "b-1", "calls": [{**call(), "duration_ms": -1}]}
    assert reporter.post(bad).status_code == 422
    assert not IngestBatch.objects.exists()
    assert reporter.post({"batch_id": "b-1", "calls": [call()]}).status_code == 202


def test_keys_belong_to_one_service(reporter: Reporter, client: Client) -> None:
    from monitoring.models import IngestToken, Service

    _, other = IngestToken.issue(service=Service.objects.create(name="mail"))
    assert reporter.post({"batch_id": "b-1", "calls": [call()]}).status_code == 202
    assert Reporter(client, other).post({"batch_id": "b-1", "calls": [call()]}).status_code == 202


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_replays_count_once(live_site: str, token: str) -> None:
    body = json.dumps({"batch_id": "same", "calls": [call() for _ in range(5)]}).encode()

    def send(_: int) -> int:
        request = urllib.request.Request(
            f"{live_site}/api/v1/ingest",
            data=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = sorted(pool.map(send, range(10)))
    assert statuses == [200] * 9 + [202]
    assert stored_calls().success == 5


def test_the_same_batch_written_differently_is_a_replay(reporter: Reporter) -> None:
    batch = {"batch_id": "b-1", "instance": "pod-1", "calls": [call(), call(outcome="failure")]}
    assert reporter.post(batch).status_code == 202
    items = [dict(reversed(list(item.items()))) for item in batch["calls"]]
    rewritten = json.dumps({"calls": items, "instance": "pod-1", "batch_id": "b-1"}, indent=2).encode()
    again = reporter.post(rewritten)
    assert again.status_code == 200, again.content
    assert again.json()["duplicate"] is True
    assert (stored_calls().success, stored_calls().failure) == (1, 1)


def test_a_batch_sent_with_the_header_then_without_it_counts_once(reporter: Reporter) -> None:
    batch = {"batch_id": "b-1", "calls": [call()]}
    assert reporter.post(batch, **{"Idempotency-Key": "k-1"}).status_code == 202
    assert reporter.post(batch).status_code == 200
    assert reporter.post({"calls": batch["calls"]}, **{"Idempotency-Key": "k-1"}).status_code == 200
    assert stored_calls().success == 1


def test_a_batch_sent_without_the_header_then_with_it_counts_once(reporter: Reporter) -> None:
    batch = {"batch_id": "b-1", "calls": [call()]}
    assert reporter.post(batch).status_code == 202
    assert reporter.post(batch, **{"Idempotency-Key": "k-1"}).status_code == 200
    assert reporter.post({"calls": batch["calls"]}, **{"Idempotency-Key": "k-1"}).status_code == 200
    assert stored_calls().success == 1


def test_a_reused_header_key_is_named_in_the_conflict(reporter: Reporter) -> None:
    assert reporter.post({"calls": [call()]}, **{"Idempotency-Key": "k-1"}).status_code == 202
    r = reporter.post({"calls": [call(), call()]}, **{"Idempotency-Key": "k-1"})
    assert r.status_code == 409
    assert r.json() == {"detail": "Idempotency-Key: was already used for a different batch", "field": "Idempotency-Key"}
    assert stored_calls().success == 1


@pytest.mark.parametrize("batch_id", ["a\u0000b", "a\nb", "a\u202eb", "\u2066a"])
@pytest.mark.parametrize("path", ["/api/v1/ingest", "/api/v1/ingest/validate"])
def test_a_batch_id_with_control_or_bidi_characters_is_refused(reporter: Reporter, path: str, batch_id: str) -> None:
    r = reporter.client.post(
        path,
        json.dumps({"batch_id": batch_id, "calls": [call()]}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {reporter.token}"},
    )
    assert r.status_code == 422, r.content
    assert r.json()["field"] == "batch_id"
    assert not IngestBatch.objects.exists()
    assert stored_calls().success == 0


def test_an_idempotency_key_with_control_characters_is_refused(reporter: Reporter) -> None:
    r = reporter.post({"calls": [call()]}, **{"Idempotency-Key": "k\t1"})
    assert r.status_code == 422
    assert r.json()["field"] == "Idempotency-Key"
    assert stored_calls().success == 0
