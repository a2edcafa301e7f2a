"""The function page's breaker history: a band per instance over the page's range, the
transitions a page at a time, newest first, filtered by instance; its live fragment alike."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from monitoring.models import Breaker, BreakerFlip, Function, Service
from tests.browser import make_user

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC).replace(microsecond=0)


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


@pytest.fixture
def charge(service: Service) -> Function:
    """pod-1 closed, then 45 transitions three seconds apart 50 minutes ago (open, closed, ...,
    open: open since); pod-2 closed since two hours ago; pod-3 open from 30 minutes ago, silent
    since 20 minutes ago."""
    function = Function.objects.create(service=service, name="charge")
    flips = [BreakerFlip(function=function, instance="pod-1", new_state="closed", at=ago(hours=3))]
    for i in range(45):
        new, old = ("open", "closed") if i % 2 == 0 else ("closed", "open")
        at = ago(minutes=50) + timedelta(seconds=3 * i)
        flips.append(BreakerFlip(function=function, instance="pod-1", old_state=old, new_state=new, at=at))
    flips.append(BreakerFlip(function=function, instance="pod-2", new_state="closed", at=ago(hours=2)))
    flips.append(BreakerFlip(function=function, instance="pod-3", new_state="open", at=ago(minutes=30)))
    BreakerFlip.objects.bulk_create(flips)
    for instance, state, since, updated in [
        ("pod-1", "open", ago(minutes=50) + timedelta(seconds=132), ago(seconds=5)),
        ("pod-2", "closed", ago(hours=2), ago(seconds=5)),
        ("pod-3", "open", ago(minutes=30), ago(minutes=20)),
    ]:
        Breaker.objects.create(function=function, instance=instance, state=state, since=since, updated=updated)
    return function


def get(client: Client, url: str) -> str:
    with time_machine.travel(NOW, tick=False):
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def bands(html: str) -> dict[str, list[tuple[str, str, str]]]:
    """Each band's stretches as drawn: (state, left %, width %)."""
    out = {}
    for row in re.findall(r'<div class="band-row" data-instance="([^"]*)">(.*?)\n</div>', html, re.S):
        stretches = re.findall(r'class="seg (\w+) tip-\w+" style="left: ([\d.]+)%; width: ([\d.]+)%"', row[1])
        out[row[0]] = stretches
    return out


def flips_listed(html: str) -> list[str]:
    listing = html[html.index('<ol class="timeline" id="flips">') :]
    listing = listing[: listing.index("</ol>")]
    return re.findall(r"<strong>([^<]+)</strong> (\S+) → ", listing)


@pytest.mark.parametrize("role", ["viewer", "responder", "admin"])
def test_it_draws_a_band_per_instance_over_the_range(client: Client, charge: Function, role: str) -> None:
    client.force_login(make_user(role))
    html = get(client, f"/functions/{charge.id}/?range=1h")
    drawn = bands(html)
    assert list(drawn) == ["pod-1", "pod-2", "pod-3"]
    # pod-1: closed 10 minutes, then 44 three-second states (under 6 s, an hour's 600th) folded
    # as flapping for 132 s, then open.
    assert drawn["pod-1"] == [
        ("closed", "0.000", "16.667"),
        ("flapping", "16.667", "3.667"),
        ("open", "20.333", "79.667"),
    ]
    assert "flapping: 44 transitions (open, closed)" in html
    assert drawn["pod-2"] == [("closed", "0.000", "100.000")]
    # pod-3: nothing known before its first report; silent since 20 minutes ago.
    assert drawn["pod-3"] == [
        ("unknown", "0.000", "50.000"),
        ("open", "50.000", "16.667"),
        ("unknown", "66.667", "33.333"),
    ]
    assert html.count('title="No report since its last one: unknown from then on">silent</span>') == 1
    assert "Breaker states, 1h" in html
    assert '<span class="key half_open"></span> half-open</span>' in html


def test_it_lists_transitions_twenty_a_page_newest_first(client: Client, charge: Function) -> None:
    client.force_login(make_user("viewer"))
    first = get(client, f"/functions/{charge.id}/?range=1h")
    # 46 in the last hour: pod-1's 45 and pod-3's one; pod-2's is older than the range.
    assert flips_listed(first)[:3] == [("pod-3", "none"), ("pod-1", "closed"), ("pod-1", "open")]
    assert len(flips_listed(first)) == 20
    assert "1–20 of 46, newest first" in first
    assert 'href="?range=1h&amp;flip_offset=20#breaker-history" rel="next"' in first
    last = get(client, f"/functions/{charge.id}/?range=1h&flip_offset=40")
    assert flips_listed(last)[-2:] == [("pod-1", "open"), ("pod-1", "closed")]
    assert "41–46 of 46, newest first" in last and 'rel="next"' not in last.split('id="flips"')[1]
    day = get(client, f"/functions/{charge.id}/?range=24h&flip_offset=40")
    assert "41–48 of 48, newest first" in day


def test_it_filters_band_and_transitions_by_instance(client: Client, charge: Function) -> None:
    client.force_login(make_user("viewer"))
    html = get(client, f"/functions/{charge.id}/?range=24h&instance=pod-2")
    assert list(bands(html)) == ["pod-2"]
    assert flips_listed(html) == [("pod-2", "none")]
    assert "<option selected>pod-2</option>" in html
    quiet = get(client, f"/functions/{charge.id}/?range=1h&instance=pod-2")
    assert "No transitions in this range on pod-2: the states above held from before it." in quiet
    unknown = get(client, f"/functions/{charge.id}/?range=1h&instance=pod-9")
    assert "No instance named “pod-9” reported this breaker." in unknown


def test_many_instances_are_shown_twenty_at_a_time(client: Client, service: Service) -> None:
    function = Function.objects.create(service=service, name="charge")
    Breaker.objects.bulk_create(
        Breaker(function=function, instance=f"pod-{i:02}", state="closed", since=ago(hours=2), updated=ago(seconds=5))
        for i in range(45)
    )
    client.force_login(make_user("viewer"))
    html = get(client, f"/functions/{function.id}/")
    assert list(bands(html)) == [f"pod-{i:02}" for i in range(20)]
    assert "Instances 1–20 of 45" in html
    last = get(client, f"/functions/{function.id}/?range=1h&band_offset=40")
    assert list(bands(last)) == [f"pod-{i:02}" for i in range(40, 45)]


def test_its_fragment_draws_the_same_and_the_empty_state_says_what_to_send(client: Client, charge: Function) -> None:
    client.force_login(make_user("viewer"))
    page = get(client, f"/functions/{charge.id}/?range=1h&flip_offset=20")
    assert f'hx-get="/fragments/functions/{charge.id}/breakers?range=1h&amp;flip_offset=20"' in page
    fragment = get(client, f"/fragments/functions/{charge.id}/breakers?range=1h&flip_offset=20")
    assert bands(fragment) == bands(page) and flips_listed(fragment) == flips_listed(page)
    empty = Function.objects.create(service=charge.service, name="refund")
    assert "No breaker reported for this function." in get(client, f"/functions/{empty.id}/")
    assert client.get("/fragments/functions/999999/breakers").status_code == 404
    client.logout()
    assert client.get(f"/fragments/functions/{charge.id}/breakers").status_code in (302, 401)
