"""GET /api/v1/functions/{id}/errors: the top error types over a range, with exact counts
across the roll-up boundary, and who may read them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client

from monitoring import retention
from monitoring.models import ErrorHour, ErrorMinute, Function, UserToken
from tests.browser import make_user
from tests.conftest import Reporter, call

NOW = datetime.now(UTC).replace(second=30, microsecond=0)
OLD = (NOW - timedelta(days=14, hours=3)).replace(minute=10)  # rolled up into hours by retention; +7 min: the same hour
NEAR_BOUNDARY = NOW - timedelta(days=13, hours=20)  # still minutes
DAYS_AGO = NOW - timedelta(days=2)
RECENT = NOW - timedelta(minutes=20)


def failures(types: dict[str, int], outcome: str = "failure") -> list[dict]:
    return [call("charge", outcome, error_type=name) for name, count in types.items() for _ in range(count)]


def report_at(reporter: Reporter, moment: datetime, calls: list[dict]) -> None:
    with time_machine.travel(moment, tick=False):
        calls = [{**item, "ts": moment.isoformat()} for item in calls]
        assert reporter.post({"calls": calls}).status_code == 202


@pytest.fixture
def auth(admin_user: User) -> dict:
    _, key = UserToken.issue(user=admin_user)
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def history(reporter: Reporter) -> None:
    report_at(reporter, OLD, failures({"ConnectionError": 5, "HTTP 503": 2}))
    report_at(reporter, OLD + timedelta(minutes=7), failures({"ConnectionError": 1}))
    report_at(reporter, NEAR_BOUNDARY, failures({"ConnectionError": 3, "ReadTimeout": 4}))
    report_at(reporter, DAYS_AGO, failures({"HTTP 503": 6}) + [call("charge")] * 10)
    report_at(reporter, RECENT, failures({"ReadTimeout": 2}, "timeout") + [call("charge", "rejected")])
    with time_machine.travel(NOW, tick=False):
        retention.roll_up_calls()
    assert ErrorHour.objects.count() == 2  # the oldest errors are only in hours now
    assert not ErrorMinute.objects.filter(minute__lt=NOW - timedelta(days=14)).exists()


def errors(client: Client, query: str, **headers: str) -> dict:
    function_id = Function.objects.get(name="charge").id
    with time_machine.travel(NOW, tick=False):
        answer = client.get(f"/api/v1/functions/{function_id}/errors?{query}", headers=headers)
    assert answer.status_code == 200, answer.content
    return answer.json()


def counts(answer: dict) -> dict[str, int]:
    return {row["name"]: row["count"] for row in answer["types"]}


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_thirty_days_add_up_hours_and_minutes(client: Client, auth: dict, history: None) -> None:
    answer = errors(client, "range=30d", **auth)
    assert counts(answer) == {"ConnectionError": 9, "HTTP 503": 8, "ReadTimeout": 6, "rejected": 1}
    assert answer["errors"] == 24
    nothing_else = {"count": 0, "share": 0.0, "types": 0, "past_cap": 0, "first_seen": None, "last_seen": None}
    assert answer["other"] == nothing_else
    first = answer["types"][0]
    assert first["share"] == pytest.approx(9 / 24)
    # First seen in an hour row, last seen in a minute row: the calls' own times.
    assert (first["first_seen"], first["last_seen"]) == (iso(OLD), iso(NEAR_BOUNDARY))
    assert answer["types"][1]["last_seen"] == iso(DAYS_AGO)


def test_a_range_across_the_roll_up_boundary(client: Client, auth: dict, history: None) -> None:
    start, end = (iso(OLD - timedelta(hours=1)), iso(NEAR_BOUNDARY + timedelta(hours=1)))
    answer = errors(client, f"from={start}&to={end}", **auth)
    assert counts(answer) == {"ConnectionError": 9, "ReadTimeout": 4, "HTTP 503": 2}
    # Read by the hour (minutes are gone before the boundary): the range starts on one.
    assert answer["from"] == iso((OLD - timedelta(hours=1)).replace(minute=0, second=0))


def test_seven_days_and_one_hour_leave_out_what_is_older(client: Client, auth: dict, history: None) -> None:
    assert counts(errors(client, "range=7d", **auth)) == {"HTTP 503": 6, "ReadTimeout": 2, "rejected": 1}
    answer = errors(client, "", **auth)  # the last hour by default
    assert counts(answer) == {"ReadTimeout": 2, "rejected": 1}
    assert answer["from"] == iso(NOW.replace(second=0) - timedelta(minutes=59))


def test_the_errors_add_up_to_the_series_errors(client: Client, auth: dict, history: None) -> None:
    function_id = Function.objects.get(name="charge").id
    with time_machine.travel(NOW, tick=False):
        totals = client.get(f"/api/v1/functions/{function_id}/series?range=30d", headers=auth).json()["totals"]
    assert errors(client, "range=30d", **auth)["errors"] == totals["failure"] + totals["timeout"] + totals["rejected"]


def test_past_the_top_the_rest_is_other(client: Client, auth: dict, history: None) -> None:
    answer = errors(client, "range=30d&top=2", **auth)
    assert counts(answer) == {"ConnectionError": 9, "HTTP 503": 8}
    assert answer["other"]["count"] == 7 and answer["other"]["types"] == 2
    assert answer["other"]["share"] == pytest.approx(7 / 24)
    assert answer["other"]["last_seen"] == iso(RECENT)


def test_no_errors_is_an_empty_answer(client: Client, auth: dict, reporter: Reporter) -> None:
    reporter.post({"calls": [call("charge")]})
    answer = errors(client, "range=24h", **auth)
    assert (answer["errors"], answer["types"], answer["other"]["count"]) == (0, [], 0)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("range=2h", "range"),
        ("from=2026-11-01T10:00:00", "from"),
        ("to=2026-11-01T10:00:00Z", "from"),
        ("top=0", "top"),
    ],
)
def test_a_bad_query_is_refused_naming_the_parameter(
    client: Client, auth: dict, reporter: Reporter, query: str, field: str
) -> None:
    reporter.post({"calls": [call("charge")]})
    function_id = Function.objects.get(name="charge").id
    answer = client.get(f"/api/v1/functions/{function_id}/errors?{query}", headers=auth)
    assert answer.status_code == 422
    assert field in str(answer.json())


def test_an_unknown_function_is_404(client: Client, auth: dict) -> None:
    assert client.get("/api/v1/functions/999999/errors", headers=auth).status_code == 404


@pytest.mark.parametrize("role", ["viewer", "responder", "admin"])
def test_every_role_reads_and_anonymous_is_refused(client: Client, reporter: Reporter, role: str) -> None:
    reporter.post({"calls": failures({"ConnectionError": 2})})
    function_id = Function.objects.get(name="charge").id
    url = f"/api/v1/functions/{function_id}/errors?range=1h"
    assert client.get(url).status_code == 401
    client.force_login(make_user(role))
    answer = client.get(url)
    assert answer.status_code == 200
    assert counts(answer.json()) == {"ConnectionError": 2}


def test_an_ingest_token_cannot_read(client: Client, reporter: Reporter, token: str) -> None:
    reporter.post({"calls": failures({"ConnectionError": 1})})
    function_id = Function.objects.get(name="charge").id
    answer = client.get(f"/api/v1/functions/{function_id}/errors", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401


def test_the_endpoint_is_in_the_openapi_document(client: Client, db: None) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    assert "/api/v1/functions/{function_id}/errors" in paths
