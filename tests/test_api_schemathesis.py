"""The API against its own OpenAPI document, as a stranger would use it: schemathesis reads
/api/openapi.json from the real site and sends it generated requests, valid and invalid,
one by one and in sequences (a rule created, read, changed, deleted). The run fails on a
server error, on a status the document does not declare, and on an answer that does not
match its declared schema (or content type, or headers).

Bounded (a few examples per operation, a fixed seed) so it takes well under two minutes;
schemathesis prints each failure with a curl line that reproduces it.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from alerts.models import Delivery, EscalationPolicy, Silence
from monitoring.models import Function, IngestToken, Service, UserToken
from queues.models import Queue
from tests.alert_fixtures import make_alert, make_rule
from tests.conftest import Reporter, call, now_iso
from tests.status_seed import status_page_rows

MAX_EXAMPLES = 15
CHECKS = [
    "--checks",
    "all",
    # A request the document allows can still be refused with a 422 the schema cannot say:
    # a channel id that does not exist, ends_at before starts_at, an e-mail channel with no
    # address. Such refusals are tested by their own tests.
    # DELETE /silences/{id} ends a started silence and keeps it for the record (a GET then
    # answers it, ended): by design, not a resource used after it was freed. Whether a
    # generated silence had started when deleted depends on the clock, so the check is off.
    "--exclude-checks",
    "positive_data_acceptance,use_after_free",
]
# The operations that take a service's ingest token: JSON ingest and OTLP metrics.
INGEST_PATHS = "^/(api/v1/ingest|otlp/)"


@pytest.fixture
def site(subprocess_env: dict[str, str], request: pytest.FixtureRequest) -> str:
    # A channel test sends at once (tasks run in-process): to a generated address, briefly.
    subprocess_env["MONITOR_HTTP_TIMEOUT_S"] = "2"
    # Every operation is also tried with a bad token, all from one address: more of them than
    # the failed authentications one address may make (test_token_failures.py tests that limit).
    subprocess_env["MONITOR_AUTH_FAILURES_PER_ADDRESS"] = "10000"
    return request.getfixturevalue("live_site")


@pytest.fixture
def rows(reporter: Reporter) -> dict[str, int]:
    """Rows the API cannot create itself, so that operations on one reach its code: their ids
    are given to schemathesis (rules, channels and silences it creates and follows itself)."""
    reporter.post(
        {
            "calls": [call("charge"), call("charge", "failure", error_type="Declined")],
            "breakers": [{"function": "charge", "state": "open", "ts": now_iso()}],
            "concurrency": [{"function": "charge", "active": 3, "limit": 10, "ts": now_iso()}],
            "queues": [{"queue": "mail", "ts": now_iso(), "depth": 4, "dead_letter": 1}],
        }
    )
    rule = make_rule()
    alert = make_alert(rule)
    channel = rule.channels.create(name="log", kind="log", config={})
    Silence.objects.create(service="payments", ends_at=datetime(2999, 1, 1, tzinfo=UTC))
    spare = User.objects.create_user("spare")
    return {
        "function_id": Function.objects.get().id,
        "queue_id": Queue.objects.get().id,
        "alert_id": alert.id,
        "delivery_id": Delivery.objects.create(alert=alert, channel=channel, event="firing", state="dead").id,
        "service_id": Service.objects.get().id,
        "token_id": IngestToken.objects.get().id,
        # Someone else's account and token: the run changes and revokes them, never the admin's
        # own token it authenticates with (that would turn the rest of the run into 401s).
        "user_id": spare.id,
        "user_token_id": UserToken.issue(user=spare, name="spare")[0].id,
        "policy_id": EscalationPolicy.objects.create(name="on-call").id,
        **status_page_rows(),
    }


def schemathesis(site: str, bearer: str, rows: dict[str, int], tmp_path: Path, *options: str) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text("[parameters]\n" + "".join(f'"path.{name}" = {value}\n' for name, value in rows.items()))
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{site}/api/openapi.json",
        "--header",
        f"Authorization: Bearer {bearer}",
        "--mode",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        "1",
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        "--no-color",
        *CHECKS,
        *options,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-20000:] + done.stderr[-5000:]


@pytest.mark.django_db(transaction=True)
def test_the_read_and_act_api_keeps_its_document(site: str, rows: dict, admin_user: User, tmp_path: Path) -> None:
    personal = UserToken.issue(user=admin_user)[1]
    schemathesis(site, personal, rows, tmp_path, "--exclude-path-regex", INGEST_PATHS)


@pytest.mark.django_db(transaction=True)
def test_ingest_keeps_its_document(site: str, rows: dict, token: str, tmp_path: Path) -> None:
    schemathesis(site, token, rows, tmp_path, "--include-path-regex", INGEST_PATHS)
