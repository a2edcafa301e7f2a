"""Refused batches are counted per service and reason, and shown where people look at services."""

from __future__ import annotations

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from pytest_django import Settings

from monitoring.models import Refusal
from tests.browser import make_user
from tests.conftest import Reporter, call

pytestmark = pytest.mark.django_db


@pytest.fixture
def refused(reporter: Reporter, settings: Settings) -> None:
    """payments: 2 invalid, 1 over a cap, 1 too large, 1 over the rate; 3 accepted."""
    settings.MONITOR_MAX_FUNCTIONS_PER_SERVICE = 2
    settings.MONITOR_MAX_BATCH_ITEMS = 3
    settings.MONITOR_MAX_REQUESTS_PER_MINUTE = 8
    cache.clear()
    # All nine in one rate window: the clock held mid-minute, so no minute turns between them.
    with time_machine.travel(timezone.now().replace(second=30, microsecond=0), tick=False):
        answers = post_the_batches(reporter)
    assert [answer.status_code for answer in answers] == [202, 422, 400, 202, 422, 413, 202, 202, 429]


def post_the_batches(reporter: Reporter) -> list:
    return [
        reporter.post({"calls": [call("a")]}),
        reporter.post({"calls": [{**call("a"), "duration_ms": -1}]}),
        reporter.post(b"{not json"),
        reporter.post({"calls": [call("a"), call("b")]}),
        reporter.post({"calls": [call("a"), call("b"), call("c")]}),
        reporter.post({"calls": [call("a")] * 4}),
        reporter.post({"calls": [call("a")]}),
        reporter.post({"calls": [call("a")]}),
        reporter.post({"calls": [call("a")]}),
    ]


def test_it_counts_refused_batches_by_reason(refused: None) -> None:
    counts = dict(Refusal.objects.filter(service__name="payments").values_list("reason", "count"))
    assert counts == {"invalid": 2, "cap": 1, "too_large": 1, "rate": 1}


def test_the_services_api_says_what_was_refused_today(refused: None, client: Client) -> None:
    client.force_login(make_user("viewer"))
    [service] = client.get("/api/v1/services").json()
    assert service["name"] == "payments"
    assert service["functions"] == 2
    assert service["refused"] == {"invalid": 2, "cap": 1, "too_large": 1, "rate": 1}


def test_the_functions_page_names_a_service_with_refused_batches(refused: None, client: Client) -> None:
    client.force_login(make_user("viewer"))
    page = client.get("/functions/").content.decode()
    assert "payments</a>: 5 batches refused today (2 invalid, 1 over a cap, 1 too large, 1 over the rate)" in page


def test_the_admin_shows_a_service_refusals(refused: None, client: Client) -> None:
    client.force_login(make_user("admin"))
    listing = client.get("/admin/monitoring/service/").content.decode()
    assert "Batches refused today" in listing
    assert '<td class="field-refused_today">5</td>' in listing
    service_id = Refusal.objects.values_list("service_id", flat=True).first()
    detail = client.get(f"/admin/monitoring/service/{service_id}/change/").content.decode()
    assert "over the rate" in detail


def test_a_service_with_nothing_refused_shows_zeros_and_no_warning(reporter: Reporter, client: Client) -> None:
    assert reporter.post({"calls": [call("a")]}).status_code == 202
    client.force_login(make_user("viewer"))
    [service] = client.get("/api/v1/services").json()
    assert service["refused"] == {"invalid": 0, "cap": 0, "too_large": 0, "rate": 0}
    assert "refused today" not in client.get("/functions/").content.decode()
