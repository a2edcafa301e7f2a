from __future__ import annotations

import pytest
from django.test import Client

from monitoring import views
from monitoring.models import Function
from tests.browser import make_user
from tests.conftest import Reporter, call, now_iso

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer(client: Client) -> Client:
    client.force_login(make_user("viewer"))
    return client


def breaker(function: str, state: str) -> dict:
    return {"function": function, "state": state, "ts": now_iso()}


def test_it_shows_first_steps_when_nothing_reported(viewer: Client) -> None:
    page = viewer.get("/functions/").content.decode()
    assert "No functions yet." in page
    assert "python manage.py create_service" in page
    assert "/api/v1/ingest" in page


def test_it_lists_functions_with_health_breaker_and_outcomes(viewer: Client, reporter: Reporter) -> None:
    batch = {
        "calls": [call("charge"), call("charge", "failure"), call("refund")],
        "breakers": [breaker("charge", "open")],
    }
    assert reporter.post(batch).status_code == 202
    page = viewer.get("/functions/").content.decode()
    charge = Function.objects.get(name="charge")
    row = page[page.index(f'data-function="{charge.id}"') :].split("</tr>")[0]
    assert '<span class="badge unhealthy">unhealthy</span>' in row
    assert '<span class="badge open">open</span>' in row
    assert "50.0 %" in row
    assert 'aria-label="last 2 outcomes: ' in row
    assert '<i class="failure" title="failure"></i>' in row and '<i class="success" title="success"></i>' in row
    assert "No functions yet." not in page


def test_it_filters_by_health_and_sorts_by_error_rate(viewer: Client, reporter: Reporter) -> None:
    calls = [call("ok"), call("half", "failure"), call("half"), call("bad", "failure")]
    assert reporter.post({"calls": calls}).status_code == 202
    page = viewer.get("/functions/?sort=-error_rate").content.decode()
    assert page.index(">bad<") < page.index(">half<") < page.index(">ok<")
    assert 'aria-sort="descending"' in page
    page = viewer.get("/functions/?health=healthy").content.decode()
    assert ">ok<" in page and ">bad<" not in page


def test_it_ignores_filters_that_do_not_parse(viewer: Client, reporter: Reporter) -> None:
    assert reporter.post({"calls": [call("charge")]}).status_code == 202
    page = viewer.get("/functions/?sort=nonsense").content.decode()
    assert "did not make sense" in page
    assert ">charge<" in page


def test_it_pages_past_the_page_size(viewer: Client, reporter: Reporter, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    assert reporter.post({"calls": [call(f"f{i}") for i in range(5)]}).status_code == 202
    first = viewer.get("/functions/").content.decode()
    assert "1–2 of 5" in first
    assert 'href="?offset=2" rel="next"' in first
    last = viewer.get("/functions/?offset=4").content.decode()
    assert "5–5 of 5" in last and ">f4<" in last and ">f0<" not in last


def test_it_shows_a_function_with_its_breaker_fleet(viewer: Client, reporter: Reporter) -> None:
    assert reporter.post({"instance": "pod-1", "breakers": [breaker("charge", "open")]}).status_code == 202
    assert reporter.post({"instance": "pod-2", "breakers": [breaker("charge", "closed")]}).status_code == 202
    batch = {
        "instance": "pod-1",
        "concurrency": [{"function": "charge", "active": 3, "limit": 10, "queued": 1, "ts": now_iso()}],
    }
    assert reporter.post(batch).status_code == 202
    charge = Function.objects.get(name="charge")
    page = viewer.get(f"/functions/{charge.id}/").content.decode()
    assert "open on 1 of 2 instances since <time datetime=" in page
    assert '<strong>pod-1</strong> none → <span class="badge open">open</span>' in page
    assert '<meter min="0" max="10" value="3">' in page
    assert "vendor/chartjs/chart.umd.min.js" in page
    assert viewer.get("/functions/999999/").status_code == 404
