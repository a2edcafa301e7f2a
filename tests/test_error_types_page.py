"""The function page's "Top errors" table, for the page's range, and its live fragment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client, override_settings

from monitoring.models import Function
from tests.browser import make_user
from tests.conftest import Reporter, call

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC).replace(second=30, microsecond=0)


def failures(function: str, types: dict[str, int], moment: datetime) -> list[dict]:
    return [
        call(function, "failure", error_type=name, ts=moment.isoformat())
        for name, count in types.items()
        for _ in range(count)
    ]


def post(reporter: Reporter, calls: list[dict], moment: datetime) -> None:
    with time_machine.travel(moment, tick=False):
        assert reporter.post({"calls": calls}).status_code == 202


def page(client: Client, query: str = "") -> str:
    function_id = Function.objects.get(name="charge").id
    with time_machine.travel(NOW, tick=False):
        answer = client.get(f"/functions/{function_id}/{query}")
    assert answer.status_code == 200
    return answer.content.decode()


def table_rows(html: str) -> list[str]:
    body = html[html.index('<tbody id="error-types">') :].split("</tbody>")[0]
    return body.split("<tr")[1:]


@pytest.mark.parametrize("role", ["viewer", "responder", "admin"])
def test_each_role_sees_the_top_errors_most_first(client: Client, reporter: Reporter, role: str) -> None:
    post(reporter, failures("charge", {"ReadTimeout": 2, "ConnectionError": 5}, NOW), NOW)
    client.force_login(make_user(role))
    html = page(client)
    assert "Top errors" in html
    assert "7 errors in this range" in html
    rows = table_rows(html)
    assert "<code>ConnectionError</code>" in rows[0] and ">5<" in rows[0] and "71.4 %" in rows[0]
    assert "<code>ReadTimeout</code>" in rows[1] and "28.6 %" in rows[1]
    assert f'<time datetime="{NOW.isoformat()}">' in rows[0]


def test_the_table_follows_the_page_range(client: Client, reporter: Reporter) -> None:
    earlier = NOW - timedelta(hours=3)
    post(reporter, failures("charge", {"HTTP 503": 4}, earlier), earlier)
    post(reporter, [call("charge", ts=NOW.isoformat())], NOW)
    client.force_login(make_user("viewer"))
    assert "No errors in this range." in page(client)  # the last hour
    html = page(client, "?range=6h")
    assert "<code>HTTP 503</code>" in html and "No errors in this range." not in html


def test_a_function_without_errors_says_so(client: Client, reporter: Reporter) -> None:
    post(reporter, [call("charge", ts=NOW.isoformat())], NOW)
    client.force_login(make_user("viewer"))
    html = page(client)
    assert "No errors in this range." in html
    assert 'id="error-types"' not in html


@override_settings(MONITOR_MAX_ERROR_TYPES=12)
def test_types_past_the_top_and_the_cap_show_as_other(client: Client, reporter: Reporter) -> None:
    types = {f"Error{i:02}": 20 - i for i in range(14)}  # 14 types: the last two are past the cap
    post(reporter, failures("charge", types, NOW), NOW)
    client.force_login(make_user("viewer"))
    rows = table_rows(page(client))
    assert len(rows) == 11  # the top ten and other
    other = rows[-1]
    assert "Other" in other and "2 more types" in other
    assert "15 errors of types past the limit of 12 a function" in other
    # Error10 and Error11 beyond the top ten, Error12 and Error13 past the cap: 10 + 9 + 8 + 7.
    assert ">34<" in other


def test_the_live_fragment_answers_the_same_table(client: Client, reporter: Reporter) -> None:
    post(reporter, failures("charge", {"ConnectionError": 3}, NOW), NOW)
    function_id = Function.objects.get(name="charge").id
    url = f"/fragments/functions/{function_id}/errors?range=24h"
    assert client.get(url).status_code == 302  # to the login
    client.force_login(make_user("viewer"))
    with time_machine.travel(NOW, tick=False):
        html = client.get(url).content.decode()
    assert "<code>ConnectionError</code>" in html and "3 errors in this range" in html
    assert f'hx-get="{url}"' not in page(client)  # the page asks for its own range
    assert f'hx-get="/fragments/functions/{function_id}/errors?range=1h"' in page(client)
