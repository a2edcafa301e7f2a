from __future__ import annotations

import json
import urllib.request

import pytest

from tests.conftest import call, stored_calls


@pytest.mark.django_db(transaction=True)
def test_it_serves_ingest_and_reads_on_the_real_server(live_site: str, token: str) -> None:
    body = json.dumps({"calls": [call("charge")]}).encode()
    request = urllib.request.Request(
        f"{live_site}/api/v1/ingest",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 202
    with urllib.request.urlopen(f"{live_site}/api/v1/status") as response:
        status = json.load(response)
    assert status["database"]["ok"] is True

    assert stored_calls(function__name="charge").success == 1
