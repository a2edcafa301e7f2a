"""The public status page, its JSON and its Atom feed, read with no login: public names only,
uptime bars exact against seeded roll-ups and minute buckets, incidents with their updates,
cache headers and conditional GETs, 404 for an unknown or disabled page."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
import time_machine
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from alerts import status_pages
from alerts.api.status_schemas import ComponentPatch
from alerts.models import StatusIncident, StatusPage, StatusUpdate
from tests.status_seed import (
    CHARGE,
    FIRST_DAY,
    INTERNAL_NAMES,
    NOW,
    REFUND,
    TODAY,
    expected_days,
    expected_hours,
    make_status_page,
)

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(autouse=True)
def frozen() -> object:
    cache.clear()  # the final days' figures are kept in the cache: rolled-back tests reuse ids
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def page() -> StatusPage:
    return make_status_page()


def publish(page: StatusPage, title: str, *updates: tuple[str, str], resolved: bool = False) -> StatusIncident:
    incident = StatusIncident.objects.create(page=page, title=title, started_at=NOW - timedelta(hours=1))
    for i, (state, body) in enumerate(updates):
        StatusUpdate.objects.create(incident=incident, state=state, body=body, at=NOW - timedelta(minutes=50 - i))
        incident.state = state
    if resolved:
        incident.resolved_at = NOW - timedelta(minutes=5)
    incident.save()
    return incident


def test_it_shows_public_names_and_never_an_internal_one(client: Client, page: StatusPage) -> None:
    html = client.get("/status/acme/").content.decode()
    as_json = client.get("/status/acme.json").content.decode()
    assert "Payments" in html and "Checkout" in html and "Acme status" in html
    for name in INTERNAL_NAMES:
        assert name not in html and name not in as_json
    assert "htmx" not in html and "live.js" not in html and "/ws/" not in html
    assert 'class="top"' not in html  # no console header or navigation


def test_the_public_page_names_the_sites_icon(client: Client, page: StatusPage) -> None:
    """So a visitor's browser shows the icon in its tab instead of asking for a /favicon.ico that is not there."""
    html = client.get("/status/acme/").content.decode()
    icon = re.search(r'<link rel="icon" href="([^"]+)"', html)
    assert icon and icon.group(1).endswith("favicon.svg")
    assert finders.find("favicon.svg")


def test_statuses_come_from_the_stored_health(client: Client, page: StatusPage) -> None:
    data = client.get("/status/acme.json").json()
    statuses = {c["name"]: c["status"] for c in data["components"]}
    # Refund fails every call now: the whole service is out; charge alone is fine.
    assert statuses == {"Payments": "outage", "Checkout": "operational"}
    assert data["status"] == {"indicator": "outage", "description": "Partial outage"}
    html = client.get("/status/acme/").content.decode()
    assert "Partial outage" in html and "Outage" in html and "Operational" in html


def test_uptime_bars_are_exact_against_the_stored_calls(client: Client, page: StatusPage) -> None:
    data = client.get("/status/acme.json").json()
    by_name = {c["name"]: c for c in data["components"]}
    service, checkout = expected_days((CHARGE, REFUND)), expected_days((CHARGE,))
    for name, expected in (("Payments", service), ("Checkout", checkout)):
        days = by_name[name]["days"]
        assert len(days) == 90
        assert days[0]["date"] == FIRST_DAY.date().isoformat() and days[-1]["date"] == TODAY.date().isoformat()
        shown = {d["date"]: d["uptime"] for d in days if d["uptime"] is not None}
        assert shown == pytest.approx({day.isoformat(): uptime for day, uptime in expected.items()})
    # Spelled out: 40 days ago, 2 of 3 hours under 5 % for the service (hour 3: 10 of 150 fail)...
    forty = (TODAY - timedelta(days=40)).date().isoformat()
    three = (TODAY - timedelta(days=3)).date().isoformat()
    today = TODAY.date().isoformat()
    days = {name: {d["date"]: d["uptime"] for d in c["days"]} for name, c in by_name.items()}
    assert days["Payments"][forty] == pytest.approx(2 / 3) and days["Checkout"][forty] == pytest.approx(2 / 3)
    # ...3 days ago refund's failures sink the service's hour, not checkout's...
    assert days["Payments"][three] == 0.0 and days["Checkout"][three] == 1.0
    # ...today: hour 10 is over (10 of 60), hours 11 and 12 under.
    assert days["Checkout"][today] == pytest.approx(2 / 3)


def test_a_day_without_calls_is_a_grey_bar(client: Client, page: StatusPage) -> None:
    ten = TODAY - timedelta(days=10)
    data = client.get("/status/acme.json").json()
    assert {d["date"]: d["uptime"] for d in data["components"][0]["days"]}[ten.date().isoformat()] is None
    html = client.get("/status/acme/").content.decode()
    assert f'<span class="bar none" title="{ten:%d %b %Y}: no data">' in html
    forty = TODAY - timedelta(days=40)
    assert f'<span class="bar poor" title="{forty:%d %b %Y}: 66.67% uptime">' in html
    assert "share of its hours (UTC) with calls whose error rate stayed under 5%" in html


def test_one_grouped_query_reads_the_90_days(client: Client, page: StatusPage) -> None:
    with CaptureQueriesContext(connection) as queries:
        client.get("/status/acme/")
    reading_calls = [q["sql"] for q in queries if "callhour" in q["sql"].lower()]
    assert len(reading_calls) == 1
    assert len(queries) <= 8, [q["sql"] for q in queries]


def test_the_final_days_come_from_the_cache_and_the_figures_stay_exact(
    client: Client, page: StatusPage, frozen: time_machine.Traveller
) -> None:
    first = client.get("/status/acme.json").json()
    with CaptureQueriesContext(connection) as queries:
        again = client.get("/status/acme.json").json()
    (uptime_sql,) = [q["sql"] for q in queries if "callhour" in q["sql"].lower()]
    yesterday = (TODAY - timedelta(days=1)).strftime("%Y-%m-%d")
    assert yesterday in uptime_sql and FIRST_DAY.strftime("%Y-%m-%d") not in uptime_sql  # only 2 days read
    assert again["components"] == first["components"]
    # An edit to the page reads the 90 days again.
    frozen.shift(timedelta(seconds=5))
    checkout = page.components.get(public_name="Checkout")
    status_pages.change_component(None, checkout, ComponentPatch(public_name="Card checkout"))
    with CaptureQueriesContext(connection) as queries:
        client.get("/status/acme.json")
    (uptime_sql,) = [q["sql"] for q in queries if "callhour" in q["sql"].lower()]
    assert FIRST_DAY.strftime("%Y-%m-%d") in uptime_sql


def test_figures_show_only_when_the_admin_ticks_them(client: Client, page: StatusPage) -> None:
    hidden = client.get("/status/acme.json").json()["components"][1]
    assert "uptime_90d" not in hidden and "error_rate_5m" not in hidden
    assert "uptime over 90 days" not in client.get("/status/acme/").content.decode()
    StatusPage.objects.filter(id=page.id).update(show_figures=True)
    shown = client.get("/status/acme.json").json()["components"]
    assert shown[1]["error_rate_5m"] == 0.0 and shown[0]["error_rate_5m"] == pytest.approx(30 / 230)
    for component, functions in ((shown[0], (CHARGE, REFUND)), (shown[1], (CHARGE,))):
        hours = expected_hours(functions)
        assert component["uptime_90d"] == pytest.approx(sum(hours.values()) / len(hours))
    html = client.get("/status/acme/").content.decode()
    assert f"{sum(expected_hours((CHARGE,)).values()) / len(expected_hours((CHARGE,))):.2%} uptime over 90 days" in html


def test_an_incident_with_updates_shows_in_html_json_and_feed(client: Client, page: StatusPage) -> None:
    incident = publish(
        page, "Card payments failing", ("investigating", "Looking into it."), ("identified", "A bad deploy.")
    )
    html = client.get("/status/acme/").content.decode()
    active = html[html.index("Current incidents") : html.index("Past incidents")]
    assert "Card payments failing" in active and "Looking into it." in active and "A bad deploy." in active
    data = client.get("/status/acme.json").json()
    assert [i["title"] for i in data["active_incidents"]] == ["Card payments failing"]
    assert [u["body"] for u in data["active_incidents"][0]["updates"]] == ["A bad deploy.", "Looking into it."]
    assert data["past_incidents"] == []
    feed = client.get("/status/acme/feed.atom")
    assert feed["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(feed.content)
    entries = root.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}title").text for e in entries] == ["Card payments failing (identified)"]
    assert entries[0].find(f"{ATOM}link").get("href").endswith(f"/status/acme/#incident-{incident.id}")
    summary = entries[0].find(f"{ATOM}summary").text
    assert "A bad deploy." in summary and "Looking into it." in summary
    for name in INTERNAL_NAMES:
        assert name not in feed.content.decode()


def test_a_resolved_incident_moves_to_the_past_and_leaves_after_14_days(
    client: Client, page: StatusPage, frozen: object
) -> None:
    publish(page, "Slow refunds", ("investigating", "Looking."), ("resolved", "Fixed."), resolved=True)
    data = client.get("/status/acme.json").json()
    assert data["active_incidents"] == [] and [i["title"] for i in data["past_incidents"]] == ["Slow refunds"]
    html = client.get("/status/acme/").content.decode()
    assert "Slow refunds" in html[html.index("Past incidents") :]
    frozen.move_to(NOW + timedelta(days=15))
    assert client.get("/status/acme.json").json()["past_incidents"] == []


def test_it_is_cacheable_and_answers_304_to_a_matching_etag(client: Client, page: StatusPage) -> None:
    for url in ("/status/acme/", "/status/acme.json", "/status/acme/feed.atom"):
        first = client.get(url)
        assert first.status_code == 200
        assert set(re.split(r",\s*", first["Cache-Control"])) == {"public", "max-age=60"}
        assert "Cookie" not in first.get("Vary", "")
        again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
        assert again.status_code == 304 and again.content == b""
        assert client.get(url, HTTP_IF_NONE_MATCH='"something-else"').status_code == 200


def test_an_unknown_or_disabled_page_is_404(client: Client, page: StatusPage) -> None:
    for url in ("/status/nope/", "/status/nope.json", "/status/nope/feed.atom"):
        assert client.get(url).status_code == 404
    StatusPage.objects.filter(id=page.id).update(enabled=False)
    for url in ("/status/acme/", "/status/acme.json", "/status/acme/feed.atom"):
        assert client.get(url).status_code == 404


def test_a_page_without_components_says_so(client: Client) -> None:
    StatusPage.objects.create(slug="new", title="New page")
    html = client.get("/status/new/").content.decode()
    assert "Nothing is shown on this page yet." in html and "No current data" in html
    data = client.get("/status/new.json").json()
    assert data["components"] == [] and data["status"]["indicator"] == "no_data"
