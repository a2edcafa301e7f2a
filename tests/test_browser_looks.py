"""Every live page on a laptop and a phone, light and dark: nothing runs off the side, no
script error, and a screenshot of each under tests/artifacts/screenshots/ for a person to look at."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, ConsoleMessage

from alerts.models import Alert, Rule
from monitoring.models import Function
from queues.models import Queue
from tests.browser import log_in, make_user, screenshot
from tests.conftest import call, now_iso
from tests.test_browser_fragments import post

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
BACKGROUNDS = {"light": "rgb(246, 247, 249)", "dark": "rgb(13, 17, 23)"}


def report_a_little_of_everything(base_url: str, token: str) -> None:
    Rule.objects.filter(metric="breaker_open_s").delete()
    Rule.objects.create(name="Breaker open", metric="breaker_open_s", threshold=0, severity="critical")
    calls = [call("charge", "failure", 840.0), call("charge", duration_ms=310.0), call("refund", duration_ms=45.0)]
    calls += [call("invoice", duration_ms=120.0 + n) for n in range(12)]
    queues = [
        {
            "queue": "email_queue",
            "ts": now_iso(),
            "depth": depth,
            "in_flight": 3,
            "dead_letter": 2,
            "oldest_age_s": 31.5,
        }
        for depth in (40, 120)
    ]
    for instance, state in (("pod-1", "open"), ("pod-2", "closed")):
        breakers = [{"function": "charge", "state": state, "ts": now_iso()}]
        concurrency = [{"function": "charge", "active": 7, "limit": 10, "queued": 2, "ts": now_iso()}]
        batch = {
            "instance": instance,
            "calls": calls,
            "breakers": breakers,
            "concurrency": concurrency,
            "queues": queues,
        }
        assert post(base_url, "/api/v1/ingest", token, batch) == 202


def pages() -> dict[str, str]:
    charge = Function.objects.get(name="charge")
    alert = Alert.objects.get(rule__name="Breaker open")
    queue = Queue.objects.get(name="email_queue")
    return {
        "overview": "/",
        "functions": "/functions/",
        "function": f"/functions/{charge.id}/",
        "queues": "/queues/",
        "queue": f"/queues/{queue.id}/",
        "alerts": "/alerts/",
        "alert": f"/alerts/{alert.id}/",
    }


# What sticks out past the screen's right edge (outside scrolling tables), to name in a failure.
WIDEST = """() => [...document.querySelectorAll("body *")]
  .filter((el) => el.getBoundingClientRect().right > window.innerWidth && !el.closest(".table-wrap"))
  .slice(0, 5).map((el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + "." + el.className)"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", ["laptop", "phone"])
def test_every_page_fits_its_screen(chromium: Browser, live_site: str, token: str, size: str, scheme: str) -> None:
    report_a_little_of_everything(live_site, token)
    make_user("responder")
    page = log_in(chromium, live_site, "responder", viewport=SIZES[size], color_scheme=scheme)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if is_an_error(message) else None)
    for name, path in pages().items():
        page.goto(path)
        page.wait_for_selector("#live-status[data-state=live]", timeout=5000)
        if page.locator("canvas").count():
            page.wait_for_function("() => [...document.querySelectorAll('canvas')].every((c) => Chart.getChart(c))")
        page.wait_for_load_state("networkidle")  # the resync's fragments are in
        # Wide tables scroll inside their frame; the page itself never scrolls sideways.
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} runs {overflow} px off the side of a {size} screen: {page.evaluate(WIDEST)}"
        assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") == BACKGROUNDS[scheme]
        text = page.inner_text("body")
        assert "{#" not in text and "{%" not in text and "{{" not in text, f"{name} shows template source"
        screenshot(page, f"screenshots/{name}-{scheme}-{size}")
        assert errors == [], f"{name}: {errors}"


def is_an_error(message: ConsoleMessage) -> bool:
    # The site names its icon (an SVG) in every page; a browser may still ask for /favicon.ico.
    return message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico")
