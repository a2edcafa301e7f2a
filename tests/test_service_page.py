"""A service's page, for every role: its trend against a week ago, its functions, breakers not
closed, queues and alerts, and none of another service's; the list of services for every role."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from alerts.models import Alert, AlertState
from monitoring.models import Breaker, CallBucket, Function, IngestToken, Service
from queues.models import Queue
from tests.browser import make_user


@pytest.fixture
def fleet(db: None) -> dict[str, Service]:
    """payments (charge, refund; a queue; alerts) and search (query; its own queue and alert)."""
    now = timezone.now()
    minute = now.replace(second=0, microsecond=0)
    services = {name: Service.objects.create(name=name) for name in ("payments", "search")}
    charge = Function.objects.create(service=services["payments"], name="charge", last_seen=minute)
    Function.objects.create(service=services["payments"], name="refund", last_seen=minute)
    query = Function.objects.create(service=services["search"], name="query", last_seen=minute)
    CallBucket.objects.create(function=charge, minute=minute - timedelta(minutes=2), success=90, failure=10)
    CallBucket.objects.create(function=charge, minute=minute - timedelta(days=7, minutes=2), success=45)
    CallBucket.objects.create(function=query, minute=minute - timedelta(minutes=2), success=7)
    Breaker.objects.create(function=charge, instance="pay-1", state="open", since=now, updated=now)
    Breaker.objects.create(function=charge, instance="pay-2", state="closed", since=now, updated=now)
    Breaker.objects.create(function=query, instance="search-1", state="half_open", since=now, updated=now)
    Queue.objects.create(service=services["payments"], name="payouts_queue", last_seen=now)
    Queue.objects.create(service=services["search"], name="reindex_queue", last_seen=now)
    alert = {"metric": "error_rate", "severity": "high", "threshold": 0.05, "fingerprint": "f"}
    Alert.objects.create(service="payments", subject="charge", summary="charge errors", **alert)
    Alert.objects.create(
        service="payments", subject="refund", state=AlertState.RESOLVED, resolved_at=now, summary="old", **alert
    )
    Alert.objects.create(service="search", subject="query", summary="query errors", **alert)
    return services


def logged_in(role: str) -> Client:
    client = Client()
    client.force_login(make_user(role))
    return client


@pytest.mark.parametrize("role", ["viewer", "responder", "admin"])
def test_every_role_sees_the_service_and_nothing_of_another(fleet: dict[str, Service], role: str) -> None:
    response = logged_in(role).get(f"/services/{fleet['payments'].id}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>payments</h1>" in html
    functions = html.split('id="functions"')[1].split("</tbody>")[0]
    assert ">charge</a>" in functions and ">refund</a>" in functions and "query" not in functions
    breakers = html.split('id="service-breakers"')[1].split("</table>")[0]
    assert "pay-1" in breakers and "pay-2" not in breakers and "search-1" not in breakers
    assert "payouts_queue" in html and "reindex_queue" not in html
    opened = html.split('id="open-alerts"')[1].split("</ul>")[0]
    assert "on charge" in opened and "query" not in opened
    assert "on refund" in html.split('id="resolved-alerts"')[1].split("</ul>")[0]
    assert ("Settings: tokens, name, history" in html) == (role == "admin")


def test_its_trend_cards_compare_with_a_week_ago(fleet: dict[str, Service]) -> None:
    html = logged_in("viewer").get(f"/services/{fleet['payments'].id}/?range=1h").content.decode()
    cards = html.split('id="service-trend"')[1].split("</section>")[0]
    calls = cards.split('data-trend="calls"')[1].split('data-trend="error_rate"')[0]
    # 100 calls this hour against 45 a week ago: 122 % more.
    assert '<div class="value">100</div>' in calls and "+122 %</span> vs a week ago (45)" in calls
    errors = cards.split('data-trend="error_rate"')[1].split('data-trend="p95"')[0]
    assert "10.0 %" in errors and "was 0.0 %" in errors and "+10.0 points" in errors
    availability = cards.split('data-trend="availability"')[1]
    assert "0.0 %" in availability and "was 100.0 %" in availability
    assert 'aria-current="true" class="active">1h</a>' in html


def test_the_range_is_24_hours_unless_the_url_names_one(fleet: dict[str, Service]) -> None:
    viewer = logged_in("viewer")
    html = viewer.get(f"/services/{fleet['payments'].id}/").content.decode()
    assert 'aria-current="true" class="active">24h</a>' in html and 'id="range-title">24 hours<' in html
    assert "Compared with the same range a week earlier" in html
    assert f"/api/v1/services/{fleet['payments'].id}/series?range=24h" in html
    unknown = viewer.get(f"/services/{fleet['payments'].id}/?range=2y")
    assert unknown.status_code == 422
    assert 'aria-current="true" class="active">24h</a>' in unknown.content.decode()
    assert "“2y” is not one of 1h, 6h, 24h, 7d, 30d; showing the last 24 hours." in unknown.content.decode()


def test_a_service_with_nothing_reported_says_so(db: None) -> None:
    quiet = Service.objects.create(name="quiet")
    html = logged_in("viewer").get(f"/services/{quiet.id}/").content.decode()
    assert "No function has reported yet" in html and "settings</a>" not in html
    assert "Every breaker it reports is closed." in html and "It reports no queues." in html
    assert "No alert is open on it." in html and "none a week ago" in html


def test_an_unknown_service_is_not_found(db: None) -> None:
    assert logged_in("viewer").get("/services/999/").status_code == 404


def test_its_functions_go_a_page_at_a_time_keeping_the_range(db: None) -> None:
    big = Service.objects.create(name="big")
    Function.objects.bulk_create(Function(service=big, name=f"f{n:03}") for n in range(205))
    viewer = logged_in("viewer")
    first = viewer.get(f"/services/{big.id}/?range=7d").content.decode()
    assert "1–200 of 205" in first and ">f199</a>" in first and ">f200</a>" not in first
    next_link = re.search(r'<a href="([^"]+)" rel="next">', first).group(1).replace("&amp;", "&")
    assert "range=7d" in next_link
    second = viewer.get(f"/services/{big.id}/{next_link}").content.decode()
    assert "201–205 of 205" in second and ">f204</a>" in second and 'class="active">7d</a>' in second


def test_names_in_tables_and_the_function_page_lead_to_the_service(fleet: dict[str, Service]) -> None:
    viewer = logged_in("viewer")
    payments = fleet["payments"]
    assert 'href="/services/named/payments/">payments</a>' in viewer.get("/functions/").content.decode()
    redirect = viewer.get("/services/named/payments/")
    assert redirect.status_code == 302 and redirect["Location"] == f"/services/{payments.id}/"
    assert viewer.get("/services/named/nothing/").status_code == 404
    charge = Function.objects.get(name="charge")
    function_page = viewer.get(f"/functions/{charge.id}/").content.decode()
    assert f'<h1><a href="/services/{payments.id}/">payments</a> / charge</h1>' in function_page


def test_the_function_page_shows_its_trend_for_its_range(fleet: dict[str, Service]) -> None:
    charge = Function.objects.get(name="charge")
    html = logged_in("viewer").get(f"/functions/{charge.id}/?range=24h").content.decode()
    cards = html.split('id="function-trend"')[1].split("</section>")[0]
    assert "Calls, 24 hours" in cards and "+122 %</span> vs a week ago (45)" in cards


def test_the_overview_shows_the_fleet_trend_with_its_own_range(fleet: dict[str, Service]) -> None:
    viewer = logged_in("viewer")
    overview = viewer.get("/?range=30d").content.decode()
    # The overview asks for it once loaded, with the range its URL names.
    assert 'hx-get="/fragments/overview/trend?range=30d&amp;max_age=10"' in overview
    section = viewer.get("/fragments/overview/trend").content.decode()
    assert "All functions, 24 hours" in section and 'href="?range=7d#fleet-trend"' in section
    assert '<div class="value">107</div>' in section  # every service's calls
    month = viewer.get("/fragments/overview/trend?range=30d").content.decode()
    assert "All functions, 30 days" in month and '<div class="value">152</div>' in month  # a week ago's too


@pytest.mark.parametrize("role", ["viewer", "responder"])
def test_the_list_is_readable_by_every_role_without_admin_parts(fleet: dict[str, Service], role: str) -> None:
    IngestToken.issue(service=fleet["payments"])
    html = logged_in(role).get("/services/").content.decode()
    rows = re.findall(r'<tr data-service="\d+">.*?</tr>', html, re.S)
    assert [re.search(r">(\w+)</a>", row).group(1) for row in rows] == ["payments", "search"]
    assert f'href="/services/{fleet["payments"].id}/"' in rows[0]
    assert "Active tokens" not in html and "settings</a>" not in html and 'id="create-service"' not in html


def test_the_list_counts_functions_in_trouble(fleet: dict[str, Service]) -> None:
    html = logged_in("admin").get("/services/").content.decode()
    payments, search = re.findall(r'<tr data-service="\d+">.*?</tr>', html, re.S)
    # charge: 10 % errors and a breaker open; query: a breaker half-open.
    assert re.findall(r'<td class="num">(?:<a[^>]*>)?(\d+)', payments)[:2] == ["2", "1"]
    assert re.findall(r'<td class="num">(?:<a[^>]*>)?(\d+)', search)[:2] == ["1", "1"]
    assert f'href="/services/{fleet["payments"].id}/settings/"' in payments and 'id="create-service"' in html
