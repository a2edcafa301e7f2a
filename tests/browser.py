"""Users for the dashboard tests, and a headless Chromium driven by Playwright.

Chromium is the system one (`chromium` on PATH; Debian's package); Playwright's own browser
download is never used. Tests marked `browser` skip without it, or fail under CI=true.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.contrib.auth.models import User

from monitoring.models import Membership, Project
from tests.servers import missing

if TYPE_CHECKING:  # only the browser tests load Playwright
    from playwright.sync_api import Browser, Page

PASSWORD = "correct horse battery staple"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def make_user(role: str, username: str | None = None) -> User:
    """admin = the owner (a superuser, admin in every project); responder and viewer = that
    role in the default project (see monitoring/projects.py)."""
    user = User.objects.create_user(
        username or role, password=PASSWORD, is_staff=role in ("admin", "responder"), is_superuser=role == "admin"
    )
    if role != "admin":
        join(user, role)
    return user


def join(user: User, role: str, project: Project | None = None) -> Membership:
    """Give the person a role in a project (default: the default project)."""
    project = project or Project.objects.default()
    return Membership.objects.update_or_create(user=user, project=project, defaults={"role": role})[0]


def screenshot(page: Page, name: str) -> Path:
    """A full-page PNG under tests/artifacts/ (git-ignored); name may hold a folder."""
    path = ARTIFACTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """One headless Chromium per test module.

    Playwright's sync API leaves an asyncio loop marked running in this thread, which makes
    Django refuse ORM calls; the tests' own ORM calls are plain sync code, so the check is
    lifted while the browser lives (and only then: the scope ends with the module).
    """
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        missing("Chromium is not installed (no chromium on PATH; apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


def log_in(browser: Browser, base_url: str, username: str, **context_options: object) -> Page:
    """A fresh browser context logged in through the login page; returns its page."""
    context = browser.new_context(base_url=base_url, **context_options)
    page = context.new_page()
    page.goto("/")
    page.wait_for_url("**/login/**")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")
    return page


# The installation's owner as the read layer sees them (admin everywhere), for tests that call
# it directly: never saved.
OWNER = User(username="owner", is_superuser=True, is_active=True)
