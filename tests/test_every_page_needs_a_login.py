"""Every page and every fragment asks an anonymous visitor to log in, however it was added:
the URL patterns are walked, not listed by hand, so a view that lost its guard fails here."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

# Reached without a login on purpose: the login form and what it links to, the API and OTLP
# ingest (their own 401s are tested per endpoint), Django's admin (its own login), static files,
# /metrics (its token or network check: tests/test_metrics_auth.py), the signed action links
# of notifications (the token is the permission: tests/test_action_links.py), the public status
# pages (tests/test_status_public.py).
OPEN = ("login/", "logout/", "set-password/", "api/", "otlp/", "admin/", "static/", "metrics", "act/", "status/")


def paths(patterns: list, prefix: str = "") -> list[str]:
    found = []
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            found += paths(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            found.append(route)
    return found


def example(route: str) -> str:
    """The route with every <int:x> as 1 and every other parameter as a word."""
    route = re.sub(r"<int:\w+>", "1", route)
    route = re.sub(r"<[^>]+>", "x", route)
    return "/" + route.lstrip("^").rstrip("$")


def guarded() -> list[str]:
    return sorted({example(r) for r in paths(get_resolver().url_patterns) if not r.startswith(OPEN)})


def test_there_are_pages_and_fragments_to_check() -> None:
    routes = guarded()
    assert "/" in routes and "/rules/" in routes and "/audit/" in routes
    assert any(r.startswith("/fragments/") for r in routes)


@pytest.mark.parametrize("path", guarded())
def test_an_anonymous_visitor_is_sent_to_the_login(client: Client, path: str) -> None:
    answer = client.get(path)
    if answer.status_code == 405:  # an action a form posts to
        answer = client.post(path)
    assert answer.status_code == 302, f"{path} answered {answer.status_code}"
    assert answer["Location"].startswith("/login/")
