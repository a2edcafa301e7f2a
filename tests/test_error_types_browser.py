"""The function page with errors, as a responder sees it: light, dark and on a phone."""

from __future__ import annotations

import json
import urllib.request

import pytest
from playwright.sync_api import Browser, Page, expect

from monitoring.models import Function
from tests.browser import ARTIFACTS, log_in, make_user, screenshot
from tests.conftest import call

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TYPES = {
    "BadGateway": 23,
    "ConnectionResetError": 9,
    "ReadTimeout": 4,
    "requests.exceptions.ConnectTimeout: HTTPSConnectionPool(host='api.payments.example', port=443)": 2,
}


def report(base_url: str, token: str) -> None:
    calls = [call("charge_card") for _ in range(40)]
    for name, count in TYPES.items():
        outcome = "timeout" if "Timeout" in name else "failure"
        calls += [call("charge_card", outcome, error_type=name) for _ in range(count)]
    calls += [call("charge_card", "timeout"), call("charge_card", "rejected", error_type="BreakerOpen")]
    request = urllib.request.Request(
        f"{base_url}/api/v1/ingest",
        data=json.dumps({"calls": calls}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert urllib.request.urlopen(request).status == 202


def fits(page: Page) -> bool:
    """The table stays within the screen's width (a wide one scrolls inside its own box)."""
    return page.evaluate("() => document.querySelector('#function-errors').getBoundingClientRect().right <= innerWidth")


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("light", {"viewport": {"width": 1280, "height": 900}}),
        ("dark", {"viewport": {"width": 1280, "height": 900}, "color_scheme": "dark"}),
        ("phone", {"viewport": {"width": 390, "height": 844}}),
    ],
)
def test_the_function_page_shows_its_top_errors(
    chromium: Browser, live_site: str, token: str, name: str, options: dict
) -> None:
    make_user("responder")
    report(live_site, token)
    function_id = Function.objects.get(name="charge_card").id
    page = log_in(chromium, live_site, "responder", **options)
    page.goto(f"/functions/{function_id}/")
    rows = page.locator("#error-types tr")
    assert rows.count() == 6
    assert rows.nth(0).locator("td").nth(0).inner_text() == "BadGateway"
    assert rows.nth(0).locator("td").nth(1).inner_text() == "23"
    assert page.locator("#errors-total").inner_text().startswith("40 errors in this range")
    # Times are shown in the viewer's zone once the page's script ran.
    expect(rows.nth(0).locator("td").nth(4)).not_to_contain_text("UTC")
    assert fits(page)
    page.locator("#top-errors").scroll_into_view_if_needed()
    screenshot(page, f"error-types/function-{name}")
    page.locator("#function-errors").screenshot(path=str(ARTIFACTS / "error-types" / f"table-{name}.png"))
