"""The range a function's or a queue's page shows, as its URL names it: a named range or a
custom from/to (what a zoom writes); the errors table and the breaker band follow it; what
cannot be read is said on the page (422), never a 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
import time_machine
from django.http import QueryDict
from django.test import Client

from monitoring.models import Breaker, BreakerFlip, Function, Service
from monitoring.page_ranges import page_range
from queues.models import Queue
from tests.browser import make_user
from tests.conftest import Reporter, call

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC).replace(microsecond=0)


def q(**values: str) -> str:
    return "&".join(f"{name}={quote(value)}" for name, value in values.items())


def asked(query: str) -> object:
    return page_range(QueryDict(query), NOW)


def test_named_and_custom_ranges_are_read_from_the_url() -> None:
    assert asked("").name == "1h" and asked("range=7d").label == "7 days"
    start, end = NOW - timedelta(hours=5), NOW - timedelta(hours=4)
    custom = asked(q(range="6h", **{"from": start.isoformat(), "to": end.isoformat()}))
    assert custom.custom and (custom.start, custom.end, custom.back) == (start, end, "6h") and custom.error is None
    # A minute's points for an hour, whatever range the zoom began from.
    window = custom.window(NOW)
    assert window.step == timedelta(minutes=1) and window.start == start.replace(second=0)
    # "+01:00" typed into a URL arrives as " 01:00": read as meant.
    spaced = asked("from=2026-11-20T10:00:00+01:00&to=2026-11-20T12:00:00Z")
    assert spaced.start == datetime(2026, 11, 20, 9, tzinfo=UTC) and spaced.error is None
    # No `to`: up to now.
    assert asked(q(**{"from": start.isoformat()})).end == NOW


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("range=2y", "range: “2y” is not one of 1h, 6h, 24h, 7d, 30d; showing the last hour."),
        ("range=6h&from=yesterday", "from: “yesterday” is not a time in ISO 8601"),
        ("from=2026-11-20T10:00:00", "from: needs a UTC offset"),
        ("to=2026-11-20T10:00:00Z", "from: is needed with to"),
        ("from=2026-11-20T10:00:00Z&to=2026-11-20T09:00:00Z", "to: must be after from"),
        ("from=2020-01-01T00:00:00Z&to=2026-11-20T09:00:00Z", "from: a range spans at most 800 days"),
        (q(**{"from": (NOW + timedelta(hours=1)).isoformat()}), "from: must be in the past"),
        ("from=2026-13-45T10:00:00Z", "from: “2026-13-45T10:00:00Z” is not a time in ISO 8601"),
    ],
)
def test_a_range_it_cannot_read_falls_back_with_a_message(query: str, message: str) -> None:
    shown = asked(query)
    assert not shown.custom and message in shown.error
    assert shown.name == ("6h" if query.startswith("range=6h") else "1h")


@pytest.fixture
def charge(reporter: Reporter, service: Service) -> Function:
    """Errors of one type five hours ago and of another 20 minutes ago; a breaker that opened
    four and a half hours ago."""
    for moment, error_type in ((NOW - timedelta(hours=5), "HTTP 503"), (NOW - timedelta(minutes=20), "Timeout")):
        with time_machine.travel(moment, tick=False):
            calls = [call("charge", "failure", error_type=error_type) for _ in range(3)]
            assert reporter.post({"calls": calls}).status_code == 202
    function = Function.objects.get(name="charge")
    opened = NOW - timedelta(hours=4, minutes=30)
    BreakerFlip.objects.create(function=function, instance="pod-1", old_state="closed", new_state="open", at=opened)
    Breaker.objects.create(function=function, instance="pod-1", state="open", since=opened, updated=NOW)
    return function


def get(client: Client, url: str, status: int = 200) -> str:
    with time_machine.travel(NOW, tick=False):
        response = client.get(url)
    assert response.status_code == status, response.content[:500]
    return response.content.decode()


@pytest.mark.parametrize("role", ["viewer", "responder", "admin"])
def test_a_zoomed_function_page_reads_everything_over_its_from_to(client: Client, charge: Function, role: str) -> None:
    client.force_login(make_user(role))
    start, end = (NOW - timedelta(hours=5, minutes=30)).isoformat(), (NOW - timedelta(hours=4)).isoformat()
    query = q(range="6h", **{"from": start, "to": end})
    html = get(client, f"/functions/{charge.id}/?{query}")
    shown = q(**{"from": start, "to": end}).replace("&", "&amp;")
    # The charts, the errors table and the breaker band read the custom range, live too.
    assert f'data-series-url="/api/v1/functions/{charge.id}/series?{shown}"' in html
    assert f'hx-get="/fragments/functions/{charge.id}/errors?{shown}"' in html
    assert "<code>HTTP 503</code>" in html and "<code>Timeout</code>" not in html
    assert f'hx-get="/fragments/functions/{charge.id}/breakers?range=6h&amp;{shown}"' in html
    assert 'href="?range=6h" id="reset-zoom"' in html and 'class="active"' not in html
    assert f'<time datetime="{start}">' in html  # "From ... to ..." as the title
    # The band starts at from: closed, then open from 4 h 30 min ago (two thirds of the way).
    assert 'class="seg closed tip-mid" style="left: 0.000%; width: 66.667%"' in html
    errors = get(client, f"/fragments/functions/{charge.id}/errors?{q(**{'from': start, 'to': end})}")
    assert "<code>HTTP 503</code>" in errors and "Timeout" not in errors
    band = get(client, f"/fragments/functions/{charge.id}/breakers?{query}")
    assert "66.667%" in band


def test_the_instance_form_keeps_the_custom_range(client: Client, charge: Function) -> None:
    BreakerFlip.objects.create(function=charge, instance="pod-2", new_state="closed", at=NOW - timedelta(hours=1))
    Breaker.objects.create(
        function=charge, instance="pod-2", state="closed", since=NOW - timedelta(hours=1), updated=NOW
    )
    client.force_login(make_user("viewer"))
    start = (NOW - timedelta(hours=5)).isoformat()
    html = get(client, f"/functions/{charge.id}/?{q(range='24h', **{'from': start})}")
    form = html[html.index('class="filters band-filter"') :]
    form = form[: form.index("</form>")]
    assert '<input type="hidden" name="range" value="24h">' in form
    assert f'<input type="hidden" name="from" value="{start}">' in form


@pytest.mark.parametrize("path", ["function", "queue"])
def test_a_bad_range_is_said_on_the_page_with_a_422(client: Client, charge: Function, path: str) -> None:
    queue = Queue.objects.create(service=charge.service, name="email_queue")
    client.force_login(make_user("viewer"))
    url = f"/functions/{charge.id}/" if path == "function" else f"/queues/{queue.id}/"
    html = get(client, f"{url}?range=7d&from=last%20tuesday", status=422)
    assert '<p class="field-error" id="range-error" role="alert">from: “last tuesday” is not a time in ISO 8601' in html
    assert 'aria-invalid="true" aria-describedby="range-error"' in html
    # What it shows instead: the range the URL named.
    assert 'href="?range=7d" aria-current="true" class="active"' in html and "range=7d" in html


@pytest.mark.parametrize("role", ["viewer", "responder", "admin"])
def test_the_queue_page_shows_its_range(client: Client, service: Service, role: str) -> None:
    queue = Queue.objects.create(service=service, name="email_queue")
    client.force_login(make_user(role))
    html = get(client, f"/queues/{queue.id}/?range=30d")
    assert f'data-series-url="/api/v1/queues/{queue.id}/series?range=30d"' in html
    assert 'data-live-every="300000"' in html and '<h2 id="range-title">30 days</h2>' in html
    start = (NOW - timedelta(days=3)).isoformat()
    custom = get(client, f"/queues/{queue.id}/?{q(range='7d', **{'from': start})}")
    assert f"series?{q(**{'from': start, 'to': NOW.isoformat()})}".replace("&", "&amp;") in custom
    assert 'id="reset-zoom"' in custom


def test_anonymous_is_sent_to_log_in(client: Client, service: Service) -> None:
    function = Function.objects.create(service=service, name="charge")
    queue = Queue.objects.create(service=service, name="email_queue")
    for url in (f"/functions/{function.id}/?range=7d&from=x", f"/queues/{queue.id}/?range=6h"):
        answer = client.get(url)
        assert answer.status_code == 302 and "/login/" in answer["Location"]
