"""Every answer of POST /api/v1/ingest, and that a refused batch stores nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from pytest_django import Settings

from monitoring.models import CallBucket, Function, IngestToken, Service
from queues.models import Snapshot
from tests.conftest import Reporter, call, now_iso, stored_calls


def nothing_stored() -> bool:
    return not (Function.objects.exists() or CallBucket.objects.exists() or Snapshot.objects.exists())


def test_it_accepts_a_batch_and_counts_its_items(reporter: Reporter) -> None:
    r = reporter.post(
        {
            "calls": [call(), call(outcome="failure", error_type="CardDeclined")],
            "breakers": [{"function": "charge", "state": "closed", "ts": now_iso()}],
            "queues": [{"queue": "email_queue", "ts": now_iso(), "depth": 3}],
        }
    )
    assert r.status_code == 202, r.content
    assert r.json() == {"accepted": {"calls": 2, "breakers": 1, "concurrency": 0, "queues": 1}, "duplicate": False}
    bucket = stored_calls(function__name="charge")
    assert (bucket.success, bucket.failure) == (1, 1)
    assert Snapshot.objects.get().depth == 3


def test_it_refuses_a_missing_token(client: Client, db: None) -> None:
    r = client.post("/api/v1/ingest", {"calls": [call()]}, content_type="application/json")
    assert r.status_code == 401
    assert nothing_stored()


def test_it_refuses_an_unknown_token(client: Client, db: None) -> None:
    r = Reporter(client, "rmi_not-a-real-token").post({"calls": [call()]})
    assert r.status_code == 401


def test_it_refuses_a_revoked_token(reporter: Reporter) -> None:
    IngestToken.objects.get().revoke()
    r = reporter.post({"calls": [call()]})
    assert r.status_code == 401
    assert nothing_stored()


def test_a_token_shows_when_it_was_last_used_rewritten_at_most_once_a_minute(reporter: Reporter) -> None:
    token = IngestToken.objects.get()
    assert token.last_used is None
    reporter.post({"calls": [call()]})
    first = IngestToken.objects.get().last_used
    assert first is not None
    reporter.post({"calls": [call()]})
    assert IngestToken.objects.get().last_used == first
    with time_machine.travel(first + timedelta(minutes=2), tick=False):
        reporter.post({"calls": [call()]})
    assert IngestToken.objects.get().last_used == first + timedelta(minutes=2)


def test_it_refuses_a_token_of_the_wrong_kind(client: Client, admin_user: User) -> None:
    from monitoring.models import UserToken

    _, personal = UserToken.issue(user=admin_user)
    r = Reporter(client, personal).post({"calls": [call()]})
    assert r.status_code == 401


def test_it_names_the_path_of_the_first_bad_item(reporter: Reporter) -> None:
    calls = [call() for _ in range(20)]
    calls[17]["duration_ms"] = -5
    r = reporter.post({"calls": calls})
    assert r.status_code == 422
    assert r.json()["field"] == "calls[17].duration_ms"
    assert r.json()["detail"].startswith("calls[17].duration_ms: ")
    assert nothing_stored()


def test_it_stores_nothing_when_the_last_item_is_bad(reporter: Reporter) -> None:
    r = reporter.post(
        {
            "calls": [call("charge"), call("refund")],
            "queues": [{"queue": "email_queue", "ts": now_iso(), "depth": 3}, {"queue": "sms", "ts": now_iso()}],
        }
    )
    assert r.status_code == 422
    assert r.json()["field"] == "queues[1].depth"
    assert nothing_stored()


def test_it_refuses_an_empty_batch(reporter: Reporter) -> None:
    r = reporter.post({"calls": [], "queues": []})
    assert r.status_code == 422
    assert "at least one item" in r.json()["detail"]


def test_it_refuses_a_wrong_content_type(reporter: Reporter) -> None:
    r = reporter.post({"calls": [call()]}, content_type="text/plain")
    assert r.status_code == 415
    assert "application/json" in r.json()["detail"]
    assert nothing_stored()


def test_it_refuses_invalid_json(reporter: Reporter) -> None:
    r = reporter.post(b'{"calls": [')
    assert r.status_code == 400
    assert "not valid JSON" in r.json()["detail"]


def test_it_refuses_deep_nesting_without_crashing(reporter: Reporter) -> None:
    r = reporter.post(b'{"calls": ' + b"[" * 5000 + b"]" * 5000 + b"}")
    assert r.status_code == 400
    assert "recursion" in r.json()["detail"]
    assert nothing_stored()


def test_it_refuses_a_body_over_the_byte_limit(reporter: Reporter, settings: Settings) -> None:
    settings.MONITOR_MAX_BODY_BYTES = 2000
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    r = reporter.post({"calls": [call() for _ in range(40)]})
    assert r.status_code == 413
    assert "2000" in r.json()["detail"]
    assert nothing_stored()


def test_it_refuses_a_batch_over_the_item_limit(reporter: Reporter, settings: Settings) -> None:
    settings.MONITOR_MAX_BATCH_ITEMS = 10
    r = reporter.post({"calls": [call() for _ in range(11)]})
    assert r.status_code == 413
    assert "11 items" in r.json()["detail"]
    assert nothing_stored()


def test_it_answers_429_with_retry_after_over_the_rate(reporter: Reporter, settings: Settings) -> None:
    settings.MONITOR_MAX_REQUESTS_PER_MINUTE = 3
    from django.core.cache import cache

    cache.clear()
    answers = [reporter.post({"calls": [call()]}) for _ in range(4)]
    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    assert 1 <= int(answers[3]["Retry-After"]) <= 60
    assert stored_calls().success == 3


def test_a_rate_limit_is_per_token(reporter: Reporter, client: Client, settings: Settings) -> None:
    settings.MONITOR_MAX_REQUESTS_PER_MINUTE = 1
    from django.core.cache import cache

    cache.clear()
    assert reporter.post({"calls": [call()]}).status_code == 202
    _, other = IngestToken.issue(service=Service.objects.create(name="mail"))
    assert Reporter(client, other).post({"calls": [call()]}).status_code == 202


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"duration_ms": float("nan")}, "calls[0].duration_ms"),
        ({"duration_ms": "Infinity"}, "calls[0].duration_ms"),
        ({"duration_ms": -1}, "calls[0].duration_ms"),
        ({"duration_ms": 1e12}, "calls[0].duration_ms"),
        ({"duration_ms": "12"}, "calls[0].duration_ms"),
        ({"ts": "2020-01-01T00:00:00Z"}, "calls[0].ts"),
        ({"ts": "2999-01-01T00:00:00Z"}, "calls[0].ts"),
        ({"ts": "2026-11-22T10:00:00"}, "calls[0].ts"),
        ({"ts": "yesterday"}, "calls[0].ts"),
        ({"function": "charge\x00card"}, "calls[0].function"),
        ({"function": "line\nbreak"}, "calls[0].function"),
        ({"function": ""}, "calls[0].function"),
        ({"function": "x" * 201}, "calls[0].function"),
        ({"outcome": "exploded"}, "calls[0].outcome"),
        ({"retries": -1}, "calls[0].retries"),
        ({"error_type": "\x07bell"}, "calls[0].error_type"),
        ({"surprise": 1}, "calls[0].surprise"),
    ],
)
def test_it_refuses_bad_call_fields(reporter: Reporter, item: dict, field: str) -> None:
    body = {"calls": [{**call(), **item}]}
    raw = None
    if item.get("duration_ms") != item.get("duration_ms"):  # NaN: not JSON, send the literal token
        raw = (
            b'{"calls": [{"function": "charge", "ts": "%s", "duration_ms": NaN, "outcome": "success"}]}'
            % now_iso().encode()
        )
    if item.get("duration_ms") == "Infinity":
        raw = (
            b'{"calls": [{"function": "charge", "ts": "%s", "duration_ms": Infinity, "outcome": "success"}]}'
            % now_iso().encode()
        )
    r = reporter.post(raw or body)
    assert r.status_code == 422, r.content
    assert r.json()["field"] == field
    assert nothing_stored()


def test_it_accepts_epoch_seconds_as_ts(reporter: Reporter) -> None:
    import time

    r = reporter.post({"calls": [{**call(), "ts": time.time()}]})
    assert r.status_code == 202


def test_it_refuses_a_bad_breaker_state_by_path(reporter: Reporter) -> None:
    r = reporter.post({"breakers": [{"function": "charge", "state": "ajar", "ts": now_iso()}]})
    assert r.status_code == 422
    assert r.json()["field"] == "breakers[0].state"


def test_it_refuses_an_overlong_idempotency_key(reporter: Reporter) -> None:
    r = reporter.post({"calls": [call()]}, **{"Idempotency-Key": "k" * 256})
    assert r.status_code == 422
    assert r.json()["field"] == "Idempotency-Key"


def test_a_time_outside_the_window_is_named_when_it_comes_before_another_error(reporter: Reporter) -> None:
    """The window is checked once a batch, after parsing; a 422 still names the first bad item."""
    late = {**call(), "ts": "2020-01-01T00:00:00Z"}
    r = reporter.post({"calls": [call(), late, call(duration_ms=-1)]})
    assert (r.status_code, r.json()["field"]) == (422, "calls[1].ts")
    assert "24 hours in the past" in r.json()["detail"]
    r = reporter.post({"calls": [call(), {**late, "duration_ms": -1}]})  # ts comes before duration_ms
    assert r.json()["field"] == "calls[1].ts"
    r = reporter.post({"calls": [call(), {**late, "function": ""}]})  # function comes before ts
    assert r.json()["field"] == "calls[1].function"
    r = reporter.post({"calls": [call(duration_ms=-1), late]})
    assert r.json()["field"] == "calls[0].duration_ms"
    r = reporter.post({"calls": [late], "queues": [{"queue": "q\x07", "ts": now_iso(), "depth": 1}]})
    assert r.json()["field"] == "calls[0].ts"
    assert nothing_stored()


@pytest.mark.parametrize("name", ["bad\x01name", "tab\there", "zero\u200bwidth", "line\u2028break", "nb\u00a0sp"])
def test_a_name_with_a_character_that_is_not_printable_is_refused(reporter: Reporter, name: str) -> None:
    r = reporter.post({"calls": [call(), call(name)]})
    assert (r.status_code, r.json()["detail"]) == (422, "calls[1].function: must not contain control characters")


def test_names_in_any_script_with_spaces_are_taken(reporter: Reporter) -> None:
    assert reporter.post({"calls": [call("résumé 処理 ünïcode")]}).status_code == 202
    assert Function.objects.filter(name="résumé 処理 ünïcode").exists()


def test_the_same_instant_written_with_another_offset_is_a_replay(reporter: Reporter) -> None:
    at = datetime.now(UTC).replace(microsecond=0)
    first = {"batch_id": "b-1", "calls": [{**call(), "ts": at.isoformat()}]}
    again = {"batch_id": "b-1", "calls": [{**call(), "ts": at.astimezone(timezone(timedelta(hours=2))).isoformat()}]}
    assert reporter.post(first).status_code == 202
    r = reporter.post(again)
    assert (r.status_code, r.json()["duplicate"]) == (200, True)
    assert stored_calls().calls == 1


def test_the_first_item_outside_the_window_is_named_in_every_kind(reporter: Reporter) -> None:
    now = datetime.now(UTC)
    ahead = (now + timedelta(minutes=10)).isoformat()
    r = reporter.post({"calls": [call(), call(), {**call(), "ts": ahead}, {**call(), "ts": "2020-01-01T00:00:00Z"}]})
    assert (r.status_code, r.json()["field"]) == (422, "calls[2].ts")
    assert "5 minutes in the future" in r.json()["detail"]
    queue = {"queue": "mail", "depth": 1}
    r = reporter.post({"calls": [call()], "queues": [{**queue, "ts": now_iso()}, {**queue, "ts": ahead}]})
    assert (r.status_code, r.json()["field"]) == (422, "queues[1].ts")
    assert not CallBucket.objects.exists()


def test_a_batch_written_again_with_other_time_offsets_is_a_replay(reporter: Reporter) -> None:
    at = datetime.now(UTC).replace(microsecond=0)
    in_utc = {"batch_id": "b-1", "calls": [{**call(), "ts": at.isoformat()}]}
    in_paris = {"batch_id": "b-1", "calls": [{**call(), "ts": at.astimezone(timezone(timedelta(hours=1))).isoformat()}]}
    assert reporter.post(in_utc).status_code == 202
    again = reporter.post(in_paris)
    assert (again.status_code, again.json()["duplicate"]) == (200, True)
    assert stored_calls().success == 1
