"""The breaker band in a real Chromium: each instance's stretches in their state's colour, as
wide as they lasted; a stretch's times on hover; a new transition drawn without a reload."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page

from monitoring.models import Breaker, BreakerFlip, Function, Service
from tests.browser import log_in, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Light scheme: --ok, --bad, --warn, --unknown (at 45 % opacity) in static/css/app.css.
GREEN, RED, AMBER, GREY = "rgb(26, 127, 55)", "rgb(207, 34, 46)", "rgb(154, 103, 0)", "rgb(110, 119, 129)"

# Each band's stretches as the browser laid them out: state, colour, opacity, left and width
# as a share of the band, and the band's width in pixels.
DRAWN = """
() => Object.fromEntries([...document.querySelectorAll("#breaker-history .band-row[data-instance]")].map((row) => {
  const band = row.querySelector(".band").getBoundingClientRect();
  return [row.dataset.instance, [...row.querySelectorAll(".seg")].map((seg) => {
    const box = seg.getBoundingClientRect(), style = getComputedStyle(seg);
    return { state: seg.dataset.state, colour: style.backgroundColor, opacity: style.opacity,
             image: style.backgroundImage, left: (box.left - band.left) / band.width, width: box.width / band.width,
             band_px: band.width };
  })];
}))
"""


def seed(service: Service, now: datetime) -> Function:
    """pod-1: closed (from 3 h ago), open 40 to 30 min ago, half-open 5 min, closed since 25 min
    ago, still reporting. pod-2: open from 50 min ago, silent since 20 min ago. pod-3: closed,
    flapping for 40 s 15 min ago, closed since."""
    function = Function.objects.create(service=service, name="charge", last_seen=now)
    flips = [
        ("pod-1", "", "closed", now - timedelta(hours=3)),
        ("pod-1", "closed", "open", now - timedelta(minutes=40)),
        ("pod-1", "open", "half_open", now - timedelta(minutes=30)),
        ("pod-1", "half_open", "closed", now - timedelta(minutes=25)),
        ("pod-2", "", "open", now - timedelta(minutes=50)),
        ("pod-3", "", "closed", now - timedelta(hours=2)),
    ]
    for i in range(20):
        new, old = ("open", "closed") if i % 2 == 0 else ("closed", "open")
        flips.append(("pod-3", old, new, now - timedelta(minutes=15) + timedelta(seconds=2 * i)))
    BreakerFlip.objects.bulk_create(
        BreakerFlip(function=function, instance=instance, old_state=old, new_state=new, at=at)
        for instance, old, new, at in flips
    )
    for instance, state, since, updated in [
        ("pod-1", "closed", now - timedelta(minutes=25), now),
        ("pod-2", "open", now - timedelta(minutes=50), now - timedelta(minutes=20)),
        ("pod-3", "closed", now - timedelta(minutes=15) + timedelta(seconds=38), now),
    ]:
        Breaker.objects.create(function=function, instance=instance, state=state, since=since, updated=updated)
    return function


def drawn(page: Page) -> dict[str, list[dict]]:
    page.wait_for_selector("#breaker-history .band .seg")
    return page.evaluate(DRAWN)


def axis(page: Page) -> tuple[datetime, datetime]:
    """The moments the page's bands start and end at, as its axis says."""
    moments = page.eval_on_selector_all(".band-axis time", "ts => ts.map((t) => t.getAttribute('datetime'))")
    start, end = (datetime.fromisoformat(moment) for moment in moments)
    return start, end


def check(page: Page, now: datetime, stretches: list[dict], expected: list[tuple]) -> None:
    """Each stretch in its state and colour, from and to so many minutes before now (None: the
    band's start or end) as a share of the band, within a pixel or two of a band over a
    thousand pixels wide."""
    start, end = axis(page)
    span = (end - start).total_seconds()
    assert [(s["state"], s["colour"]) for s in stretches] == [(state, colour) for state, colour, _, _ in expected]
    for stretch, (_, _, begins, ends) in zip(stretches, expected, strict=True):
        begins = start if begins is None else now - timedelta(minutes=begins)
        ends = end if ends is None else now - timedelta(minutes=ends)
        left, width = (begins - start).total_seconds() / span, (ends - begins).total_seconds() / span
        assert (stretch["left"], stretch["width"]) == (pytest.approx(left, abs=0.002), pytest.approx(width, abs=0.002))


def test_the_band_shows_each_state_in_its_colour_for_as_long_as_it_lasted(
    chromium: Browser, live_site: str, service: Service, token: str
) -> None:
    now = datetime.now(UTC)
    function = seed(service, now)
    make_user("viewer")
    page = log_in(chromium, live_site, "viewer", viewport={"width": 1280, "height": 900})
    page.goto(f"/functions/{function.id}/?range=1h")
    bands = drawn(page)
    assert list(bands) == ["pod-1", "pod-2", "pod-3"]
    check(
        page,
        now,
        bands["pod-1"],
        [("closed", GREEN, None, 40), ("open", RED, 40, 30), ("half_open", AMBER, 30, 25), ("closed", GREEN, 25, None)],
    )
    check(page, now, bands["pod-2"], [("unknown", GREY, None, 50), ("open", RED, 50, 20), ("unknown", GREY, 20, None)])
    assert {s["opacity"] for s in bands["pod-2"] if s["state"] == "unknown"} == {"0.45"}
    # pod-3's 2-second states (under an hour's 600th) are one striped "flapping" stretch,
    # drawn at least 2 px wide however short.
    flapping = [s for s in bands["pod-3"] if s["state"] == "flapping"]
    assert len(flapping) == 1 and "repeating-linear-gradient" in flapping[0]["image"]
    start, end = axis(page)
    assert flapping[0]["left"] == pytest.approx((now - timedelta(minutes=15) - start) / (end - start), abs=0.002)
    # The band's width read with its stretches: a live refresh may replace the band between two reads.
    assert flapping[0]["width"] * flapping[0]["band_px"] >= 2

    # Hovering a stretch says its state and its start and end, in the page's time format.
    seg = page.locator('.band-row[data-instance="pod-1"] .seg[data-state="open"]')
    seg.hover()
    tip = seg.locator(".tip")
    assert tip.is_visible()
    assert tip.inner_text().split("\n") == ["open", "40 min ago → 30 min ago · 10 min"]
    screenshot(page, "breakerband/function-light")

    # A transition reported now is drawn at once, without a reload.
    url = page.url
    report = {
        "instance": "pod-1",
        "breakers": [{"function": "charge", "state": "open", "ts": datetime.now(UTC).isoformat()}],
    }
    request = urllib.request.Request(
        f"{live_site}/api/v1/ingest",
        data=json.dumps(report).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert urllib.request.urlopen(request).status == 202
    page.wait_for_selector('.band-row[data-instance="pod-1"] .seg:last-child[data-state="open"]', timeout=5000)
    assert page.url == url
    assert page.locator("#flips li").first.inner_text().endswith("pod-1 closed → open")


def test_the_band_reads_in_the_dark_and_on_a_phone(chromium: Browser, live_site: str, service: Service) -> None:
    function = seed(service, datetime.now(UTC))
    make_user("viewer")
    dark = log_in(chromium, live_site, "viewer", color_scheme="dark", viewport={"width": 1280, "height": 900})
    dark.goto(f"/functions/{function.id}/?range=1h")
    assert drawn(dark)["pod-1"][1]["colour"] == "rgb(248, 81, 73)"  # the dark scheme's --bad
    screenshot(dark, "breakerband/function-dark")
    # Choosing an instance keeps the range and shows its band and transitions alone.
    dark.select_option("select[name=instance]", "pod-2")
    dark.click("form.band-filter button")
    dark.wait_for_url("**/?range=1h&instance=pod-2#breaker-history")
    assert list(drawn(dark)) == ["pod-2"]
    listed = dark.locator("#flips li").all_inner_texts()
    assert len(listed) == 1 and listed[0].endswith("pod-2 none → open")

    phone = log_in(chromium, live_site, "viewer", viewport={"width": 390, "height": 844})
    phone.goto(f"/functions/{function.id}/?range=1h")
    # Measured once the socket's resync has swapped the live parts in: not mid-swap.
    phone.wait_for_selector("#live-status[data-state=live]", timeout=5000)
    phone.wait_for_load_state("networkidle")
    drawn(phone)
    band = phone.eval_on_selector(".band", "b => b.getBoundingClientRect().width")
    assert band > 300  # the instance's name sits above its band, not beside it
    # The page does not scroll sideways, not even with a tip open at either end of a band.
    segs = phone.locator('.band-row[data-instance="pod-2"] .seg')
    for seg in (segs.first, segs.last):
        seg.click()
        box = seg.locator(".tip").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    phone.locator('.band-row[data-instance="pod-1"] .seg[data-state="open"]').click()
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
    screenshot(phone, "breakerband/function-phone")
