"""Charts on a time axis: a range's first and last points, drag-to-zoom (the URL gets from/to,
the charts and the errors table follow), "Reset zoom", the custom from/to form, and the queue
page's ranges over minute snapshots and hourly roll-ups."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from playwright.sync_api import Browser, Page

from alerts.evaluate import evaluate_all
from alerts.models import Alert
from monitoring.models import Function, Service
from monitoring.ranges import HOUR, floor
from queues.models import Queue, Snapshot, SnapshotHour
from tests.alert_fixtures import failures, make_rule, successes
from tests.browser import log_in, make_user, screenshot
from tests.conftest import Reporter, call

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A chart as drawn: its points' times and values, and the span of its time axis.
CHART = """
(id) => {
  const chart = Chart.getChart(document.getElementById(id));
  if (!chart || !chart.data.labels.length) return null;
  const x = chart.scales.x;
  return { type: x.type, min: x.min, max: x.max, times: chart.data.labels,
           sets: Object.fromEntries(chart.data.datasets.map((d) => [d.label, d.data])) };
}
"""


def drawn(page: Page, canvas: str = "calls-chart") -> dict:
    page.wait_for_function(f"() => ({CHART})({json.dumps(canvas)}) !== null")
    return page.evaluate(CHART, canvas)


def post(base_url: str, token: str, batch: dict) -> None:
    request = urllib.request.Request(
        f"{base_url}/api/v1/ingest",
        data=json.dumps(batch).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert urllib.request.urlopen(request).status == 202


def failed_at(moment: datetime, error_type: str, count: int) -> list[dict]:
    return [{**call("charge", "failure", error_type=error_type), "ts": moment.isoformat()} for _ in range(count)]


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_switching_range_moves_the_first_and_last_points(chromium: Browser, live_site: str, token: str) -> None:
    now = datetime.now(UTC)
    post(live_site, token, {"calls": failed_at(now - timedelta(hours=5), "HTTP 503", 3) + [call("charge")]})
    function_id = Function.objects.get(name="charge").id
    make_user("viewer")
    page = log_in(chromium, live_site, "viewer", viewport={"width": 1280, "height": 900})
    page.goto(f"/functions/{function_id}/?range=6h")
    six = drawn(page)
    assert six["type"] == "time"
    # A point a minute from the minute six hours ago to the one holding now, and the axis spans them.
    this_minute = ms(floor(now, timedelta(minutes=1)))
    assert len(six["times"]) == 360 and six["times"][-1] in (this_minute, this_minute + 60_000)
    assert six["times"][-1] - six["times"][0] == 359 * 60_000
    assert (six["min"], six["max"]) == (six["times"][0], six["times"][-1] + 60_000)
    # The failures five hours ago are drawn at their minute.
    failures = dict(zip(six["times"], six["sets"]["failure"], strict=True))
    assert failures[ms(floor(now - timedelta(hours=5), timedelta(minutes=1)))] == 3

    page.click(".ranges a:text-is('7d')")
    page.wait_for_url("**/?range=7d")
    week = drawn(page)
    assert len(week["times"]) == 168 and week["times"][-1] - week["times"][0] == 167 * 3_600_000
    assert week["times"][-1] in (ms(floor(now, HOUR)), ms(floor(now, HOUR)) + 3_600_000)
    assert (week["min"], week["max"]) == (week["times"][0], week["times"][-1] + 3_600_000)
    assert page.locator(".ranges a.active").inner_text() == "7d"
    assert page.locator("#range-title").inner_text() == "7 days"


def drag(page: Page, canvas: str, start: datetime, end: datetime) -> None:
    """A box dragged along the chart's time axis, from one moment to another."""
    box = page.locator(f"#{canvas}").bounding_box()
    left, right, middle = page.evaluate(
        "([id, a, b]) => { const chart = Chart.getChart(document.getElementById(id)), x = chart.scales.x;"
        " return [x.getPixelForValue(a), x.getPixelForValue(b), (chart.chartArea.top + chart.chartArea.bottom) / 2]; }",
        [canvas, ms(start), ms(end)],
    )
    y = box["y"] + middle
    page.mouse.move(box["x"] + left, y)
    page.mouse.down()
    page.mouse.move(box["x"] + (left + right) / 2, y, steps=4)
    page.mouse.move(box["x"] + right, y, steps=4)
    page.mouse.up()


def test_a_drag_zooms_the_page_and_the_errors_table_follows(chromium: Browser, live_site: str, token: str) -> None:
    now = datetime.now(UTC)
    post(live_site, token, {"calls": failed_at(now - timedelta(hours=5), "HTTP 503", 3)})
    post(live_site, token, {"calls": failed_at(now - timedelta(minutes=20), "Timeout", 2)})
    function_id = Function.objects.get(name="charge").id
    make_user("responder")
    page = log_in(chromium, live_site, "responder", viewport={"width": 1280, "height": 900})
    page.goto(f"/functions/{function_id}/?range=6h")
    drawn(page)
    errors = page.locator("#error-types")
    assert "HTTP 503" in errors.inner_text() and "Timeout" in errors.inner_text()

    drag(page, "calls-chart", now - timedelta(hours=5, minutes=30), now - timedelta(hours=4, minutes=30))
    page.wait_for_url("**from=**")
    query = parse_qs(urlsplit(page.url).query)
    start, end = (datetime.fromisoformat(query[name][0]) for name in ("from", "to"))
    assert start.utcoffset() is not None and query["range"] == ["6h"]
    # What was dragged, give or take a pixel's worth of time (a 6 h axis is some 1,100 px wide).
    assert abs(start - (now - timedelta(hours=5, minutes=30))) < timedelta(minutes=3)
    assert abs(end - (now - timedelta(hours=4, minutes=30))) < timedelta(minutes=3)

    zoomed = drawn(page)
    # The charts read the zoomed span at its finer step: a point a minute, the axis from..to.
    assert zoomed["times"][1] - zoomed["times"][0] == 60_000
    assert ms(floor(start, timedelta(minutes=1))) == zoomed["min"] and zoomed["max"] - ms(end) < 60_000
    assert sum(v for v in zoomed["sets"]["failure"] if v) == 3
    # The errors table follows: only what failed in the zoomed hour.
    assert "HTTP 503" in errors.inner_text() and "Timeout" not in errors.inner_text()
    assert "Custom" not in page.locator("#range-title").inner_text()
    assert page.locator("#range-title time").count() == 2
    screenshot(page, "zoom/function-zoomed-light")

    page.click("#reset-zoom")
    page.wait_for_url("**/?range=6h")
    assert len(drawn(page)["times"]) == 360
    assert "Timeout" in page.locator("#error-types").inner_text()


def test_the_custom_form_takes_times_in_the_viewers_zone(chromium: Browser, live_site: str, token: str) -> None:
    post(live_site, token, {"calls": [call("charge")]})
    function_id = Function.objects.get(name="charge").id
    make_user("viewer")
    page = log_in(chromium, live_site, "viewer", timezone_id="America/Sao_Paulo")
    page.goto(f"/functions/{function_id}/")
    drawn(page)
    assert page.locator("#range-form .range-zone").inner_text() == "America/Sao_Paulo"
    today = datetime.now(UTC).astimezone().date()  # any day will do: a past one
    day = (today - timedelta(days=2)).isoformat()
    page.fill("#range-from", f"{day}T09:00")
    page.fill("#range-to", f"{day}T21:40")
    page.click("#range-form button[type=submit]")
    page.wait_for_url("**from=**")
    query = parse_qs(urlsplit(page.url).query)
    # 09:00 in São Paulo is 12:00 UTC: the offset travels with the time.
    assert query["from"] == [f"{day}T09:00:00-03:00"] and query["to"] == [f"{day}T21:40:00-03:00"]
    chart = drawn(page)
    # 12 h 40 min, over 750 minutes: 5-minute points, the axis on the range's ends.
    assert chart["times"][1] - chart["times"][0] == 300_000
    assert chart["min"] == ms(datetime.fromisoformat(f"{day}T12:00:00+00:00"))
    assert chart["max"] == ms(datetime.fromisoformat(f"{day}T21:40:00-03:00"))
    assert page.input_value("#range-from") == f"{day}T09:00"


def test_a_range_it_cannot_read_says_so_and_shows_the_last_hour(chromium: Browser, live_site: str, token: str) -> None:
    post(live_site, token, {"calls": [call("charge")]})
    function_id = Function.objects.get(name="charge").id
    make_user("viewer")
    page = log_in(chromium, live_site, "viewer")
    answer = page.goto(f"/functions/{function_id}/?from=last+tuesday")
    assert answer.status == 422
    assert "from: “last tuesday” is not a time in ISO 8601" in page.inner_text("#range-error")
    assert len(drawn(page)["times"]) == 60


@pytest.fixture
def email_queue(token: str) -> Queue:
    """Snapshots every 5 minutes over the last 3 hours but for a silent 25 minutes, and hourly
    roll-ups 20 days ago."""
    queue = Queue.objects.create(service=Service.objects.get(name="payments"), name="email_queue")
    now = datetime.now(UTC)
    Snapshot.objects.bulk_create(
        Snapshot(
            queue=queue, at=now - timedelta(minutes=m), depth=100 + m, in_flight=2, dead_letter=m // 60, oldest_age_s=m
        )
        for m in range(1, 180, 5)
        if not 20 <= m < 45
    )
    old = floor(now - timedelta(days=20), HOUR)
    SnapshotHour.objects.bulk_create(
        SnapshotHour(
            queue=queue, hour=old + i * HOUR, samples=60, depth_sum=60 * 500, depth_max=900 + i, dead_letter_max=7
        )
        for i in range(3)
    )
    return queue


def test_queue_page_switches_ranges(chromium: Browser, live_site: str, email_queue: Queue) -> None:
    make_user("viewer")
    page = log_in(chromium, live_site, "viewer", viewport={"width": 1280, "height": 900})
    page.goto(f"/queues/{email_queue.id}/")
    hour = drawn(page, "depth-chart")
    now = datetime.now(UTC)
    assert hour["type"] == "time" and page.locator(".ranges a.active").inner_text() == "1h"
    assert hour["max"] - hour["min"] == 3_600_000 and hour["min"] <= ms(now - timedelta(minutes=59))
    # Only the snapshots of the last hour, at their minute, with the silent half hour left out.
    assert all(hour["min"] <= t < hour["max"] for t in hour["times"])
    gaps = [b - a for a, b in zip(hour["times"], hour["times"][1:], strict=False)]
    assert max(gaps) == 30 * 60_000 and min(gaps) == 5 * 60_000
    # The line breaks over the silence, not between snapshots five minutes apart.
    segments = page.evaluate(
        "() => Chart.getChart(document.getElementById('depth-chart')).getDatasetMeta(0).dataset.segments.length"
    )
    assert segments == 2
    screenshot(page, "zoom/queue-1h-light")

    page.click(".ranges a:text-is('30d')")
    page.wait_for_url("**/?range=30d")
    month = drawn(page, "depth-chart")
    assert month["max"] - month["min"] == 30 * 86_400_000
    old = ms(floor(now - timedelta(days=20), HOUR))
    # The hourly roll-ups, then the last three hours' snapshots, by the hour, the most each showed.
    assert month["times"][:3] == [old, old + 3_600_000, old + 7_200_000]
    assert month["sets"]["depth"][:3] == [900, 901, 902] and month["sets"]["dead letters"][:3] == [7, 7, 7]
    assert len(month["times"]) in (6, 7)
    assert max(month["sets"]["depth"][3:]) == 100 + 176


LOOKS = {
    "light": {"viewport": {"width": 1280, "height": 900}},
    "dark": {"viewport": {"width": 1280, "height": 900}, "color_scheme": "dark"},
    "phone": {"viewport": {"width": 390, "height": 844}},
}


@pytest.mark.parametrize("look", list(LOOKS))
def test_the_pages_read_in_each_look(
    chromium: Browser, live_site: str, client: Client, token: str, email_queue: Queue, no_defaults: None, look: str
) -> None:
    """Function (zoomed), queue and alert pages: time axes drawn, nothing wider than the screen."""
    now = datetime.now(UTC)
    post(live_site, token, {"calls": failed_at(now - timedelta(hours=3), "HTTP 503", 4)})
    assert Reporter(client, token).post({"calls": failures(6) + successes(4)}).status_code == 202
    make_rule(threshold=0.2, window_minutes=5, min_calls=10)
    assert evaluate_all().fired == 1
    function_id = Function.objects.get(name="charge").id
    make_user("viewer")
    page = log_in(chromium, live_site, "viewer", **LOOKS[look])
    width = LOOKS[look]["viewport"]["width"]

    start, end = quoted(now - timedelta(hours=4)), quoted(now - timedelta(hours=2))
    page.goto(f"/functions/{function_id}/?range=6h&from={start}&to={end}")
    assert drawn(page)["type"] == "time" and page.locator("#reset-zoom").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, f"zoom/function-{look}")

    page.goto(f"/queues/{email_queue.id}/?range=6h")
    assert drawn(page, "depth-chart")["type"] == "time"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, f"zoom/queue-{look}")

    page.goto(f"/alerts/{Alert.objects.get().id}/")
    chart = drawn(page, "alert-chart-canvas")
    # The alert's chart on the same time axis, from 30 minutes before it fired, its threshold kept.
    started = ms(Alert.objects.get().started_at)
    assert chart["type"] == "time" and chart["min"] == started - 30 * 60_000
    assert set(chart["sets"]["threshold"]) == {0.2}
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, f"zoom/alert-{look}")


def quoted(moment: datetime) -> str:
    return moment.isoformat().replace("+", "%2B")
