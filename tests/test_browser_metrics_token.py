"""A person makes a /metrics-only token on the tokens page in a real headless Chromium: it
scrapes /metrics and the API refuses it; screenshots light, dark and at phone width."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from playwright.sync_api import Browser

from monitoring.models import UserToken
from tests.browser import log_in, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOOKS = {"light": {}, "dark": {"color_scheme": "dark"}, "phone": {"viewport": {"width": 390, "height": 844}}}


def status(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize("look", LOOKS)
def test_a_viewer_makes_a_metrics_token_on_the_tokens_page(chromium: Browser, live_site: str, look: str) -> None:
    make_user("viewer")
    page = log_in(chromium, live_site, "viewer", **LOOKS[look])
    page.goto("/settings/tokens/")
    page.fill("#name", "prometheus")
    page.check("input[name=scope][value='metrics:read']")
    page.click("text=Create token")
    raw = page.inner_text("#new-token").strip()
    assert page.locator("text=It reads /metrics only").count() == 1
    assert page.locator("#tokens >> text=/metrics only").count() == 1
    screenshot(page, f"prometheus/tokens-{look}")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    assert UserToken.objects.get().scope == "metrics:read"
    assert status(f"{live_site}/metrics", raw) == 200
    assert status(f"{live_site}/api/v1/functions", raw) == 403
