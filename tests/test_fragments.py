"""The fragments live pages ask for: the same markup as the page, shared between pages that
allow it, and a page whose session ended is sent to the login form."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.test import Client

from monitoring.models import Function
from tests.browser import make_user
from tests.conftest import Reporter, call, now_iso

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer(client: Client) -> Client:
    cache.clear()  # answers shared by an earlier test must not leak in
    client.force_login(make_user("viewer"))
    return client


def row_of(html: str, function: Function) -> str:
    start = html.index(f'<tr data-function="{function.id}"')
    return html[start : html.index("</tr>", start) + len("</tr>")]


def test_a_page_and_its_fragment_show_the_same_row(viewer: Client, reporter: Reporter) -> None:
    breakers = [{"function": "charge", "state": "open", "ts": now_iso()}]
    assert (
        reporter.post({"calls": [call("charge", "failure"), call("refund")], "breakers": breakers}).status_code == 202
    )
    charge = Function.objects.get(name="charge")
    page = viewer.get("/functions/?sort=-error_rate").content.decode()
    fragment = viewer.get("/fragments/functions/table?sort=-error_rate").content.decode()
    assert row_of(fragment, charge) == row_of(page, charge)
    assert '<span class="badge open">open</span>' in row_of(fragment, charge)
    assert fragment.index(">charge<") < fragment.index(">refund<")
    assert '<span id="pager-text">1–2 of 2</span>' in fragment
    overview = viewer.get("/").content.decode()
    assert row_of(viewer.get("/fragments/overview/trouble").content.decode(), charge) == row_of(overview, charge)


def test_rows_a_delta_named_replace_those_rows_wherever_shown(viewer: Client, reporter: Reporter) -> None:
    assert reporter.post({"calls": [call("charge"), call("refund"), call("invoice")]}).status_code == 202
    charge, invoice = Function.objects.get(name="charge"), Function.objects.get(name="invoice")
    rows = viewer.get(f"/fragments/functions/rows?ids={invoice.id},{charge.id},999999").content.decode()
    assert rows.count("<tr ") == 2 and ">refund<" not in rows
    assert f"hx-swap-oob=\"outerHTML:tr[data-function='{charge.id}']\"" in rows
    assert viewer.get("/fragments/functions/rows?ids=1,x").status_code == 400
    assert viewer.get("/fragments/functions/rows?ids=" + ",".join(map(str, range(101)))).status_code == 400


def test_pages_that_allow_it_share_a_rendering_until_a_newer_delta(viewer: Client, reporter: Reporter) -> None:
    assert reporter.post({"calls": [call("charge")]}).status_code == 202
    first = viewer.get("/fragments/functions/table?max_age=2")
    assert reporter.post({"calls": [call("refund")]}).status_code == 202
    shared = viewer.get("/fragments/functions/table?max_age=2")
    assert shared["Computed-At"] == first["Computed-At"] and ">refund<" not in shared.content.decode()
    # A page told of a change after that answer was computed gets one computed since.
    told_at = time.time()
    newer = viewer.get(f"/fragments/functions/table?max_age=2&newer_than={told_at}")
    assert float(newer["Computed-At"]) >= told_at and ">refund<" in newer.content.decode()
    # A page that does not allow sharing always gets a fresh one.
    assert float(viewer.get("/fragments/functions/table")["Computed-At"]) >= told_at


def test_the_overview_parts_render_one_computation(viewer: Client, reporter: Reporter) -> None:
    assert reporter.post({"calls": [call("charge", "failure"), call("charge")]}).status_code == 202
    parts = [viewer.get(f"/fragments/overview/{part}?max_age=2") for part in ("figures", "trouble", "backing-up")]
    assert len({part["Computed-At"] for part in parts}) == 1
    figures = parts[0].content.decode()
    assert '<div class="value" data-figure="calls_5m">2</div>' in figures
    # Something reported: the page's first steps make way.
    assert '<section class="empty" id="first-steps" hidden hx-swap-oob="true"></section>' in figures


def test_a_page_whose_session_ended_goes_to_the_login_form(client: Client) -> None:
    page = "http://testserver/functions/?service=payments"
    answer = client.get(
        "/fragments/functions/table?service=payments", headers={"HX-Request": "true", "HX-Current-URL": page}
    )
    assert answer.status_code == 200
    assert answer["HX-Redirect"] == "/login/?next=/functions/%3Fservice%3Dpayments"
    # Opened by hand: the login form, then back to the fragment.
    assert client.get("/fragments/queues/table").url == "/login/?next=/fragments/queues/table"


def test_a_fragment_of_something_unknown_is_not_found(viewer: Client) -> None:
    for path in ("functions/999999/figures", "functions/999999/fleet", "queues/999999/figures", "alerts/999999/state"):
        assert viewer.get(f"/fragments/{path}").status_code == 404
