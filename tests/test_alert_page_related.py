"""An alert's page lists the other alerts on its subject, newest first, each a link."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts import lifecycle
from tests.alert_fixtures import People, make_alert, make_rule

pytestmark = pytest.mark.django_db


def related_rows(page: str) -> list[str]:
    body = page.split('<table id="related">')[1].split("</tbody>")[0]
    return [row.split('"')[0] for row in body.split('data-related="')[1:]]


def test_it_lists_the_other_alerts_on_the_same_subject(people: People, no_defaults: None) -> None:
    errors, slow = make_rule(), make_rule(name="charge slow", metric="p95_ms", threshold=2000, severity="medium")
    now = timezone.now()
    older = make_alert(errors, started_at=now - timedelta(days=2))
    lifecycle.resolve(older)
    newer = make_alert(slow, started_at=now - timedelta(hours=1))
    elsewhere = make_alert(errors, subject="refund", started_at=now - timedelta(minutes=30))
    alert = make_alert(errors, started_at=now - timedelta(minutes=5), fingerprint="function:2")
    page = people.viewer.get(f"/alerts/{alert.id}/").content.decode()
    assert '<h2 id="related-title">Other alerts on payments / charge</h2>' in page
    assert related_rows(page) == [str(newer.id), str(older.id)]
    assert str(elsewhere.id) not in related_rows(page)
    row = page.split(f'data-related="{newer.id}"')[1].split("</tr>")[0]
    assert f'<a href="/alerts/{newer.id}/">charge slow</a>' in row and '<span class="badge firing">firing</span>' in row
    row = page.split(f'data-related="{older.id}"')[1].split("</tr>")[0]
    assert '<span class="badge resolved">resolved</span>' in row and "<time datetime=" in row


def test_it_shows_the_latest_ten_and_where_the_rest_are(people: People, no_defaults: None) -> None:
    rule = make_rule()
    now = timezone.now()
    others = [make_alert(rule, started_at=now - timedelta(hours=i + 1), state="resolved") for i in range(12)]
    alert = make_alert(rule, started_at=now)
    page = people.viewer.get(f"/alerts/{alert.id}/").content.decode()
    assert related_rows(page) == [str(a.id) for a in others[:10]]
    assert 'The latest 10, newest first; older ones are on the <a href="/alerts/?service=payments">' in page


def test_it_says_when_there_is_no_other_alert(people: People, no_defaults: None) -> None:
    alert = make_alert(make_rule())
    page = people.viewer.get(f"/alerts/{alert.id}/").content.decode()
    assert '<p class="muted" id="related-none">No other alert on this function.</p>' in page
