"""Acknowledging from an alert's page: a reason and when to be reminded, on the timeline."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from alerts.models import Alert
from tests.alert_fixtures import People, Person, make_alert, make_rule

pytestmark = pytest.mark.django_db


def fragment(person: Person, path: str) -> str:
    return person.client.get(path, headers={"HX-Request": "true"}).content.decode()


def ack_form(page: str) -> str:
    return page.split('<form id="ack-form"')[1].split("</form>")[0]


@pytest.mark.parametrize("role", ["responder", "admin"])
def test_a_firing_alert_offers_a_reason_and_a_reminder(people: People, no_defaults: None, role: str) -> None:
    alert = make_alert(make_rule())
    form = ack_form(getattr(people, role).get(f"/alerts/{alert.id}/").content.decode())
    assert f'data-url="/api/v1/alerts/{alert.id}/acknowledge"' in form
    assert '<input type="text" name="reason" maxlength="1000"' in form
    options = re.findall(r'<option value="(\d*)">([^<]+)</option>', form)
    assert options == [
        ("", "don't remind me"),
        ("15", "15 minutes"),
        ("60", "1 hour"),
        ("240", "4 hours"),
        ("1440", "1 day"),
    ]
    assert '<button type="submit" data-action="acknowledge">Acknowledge</button>' in form


def test_what_the_form_posts_lands_on_the_timeline(people: People, no_defaults: None) -> None:
    alert = make_alert(make_rule())
    form = ack_form(people.responder.get(f"/alerts/{alert.id}/").content.decode())
    found = re.search(r'data-url="([^"]+)"', form)
    assert found is not None
    url = found.group(1)
    answer = people.responder.post(url, {"reason": "card processor outage, on it", "remind_after_minutes": 60})
    assert answer.status_code == 200
    history = fragment(people.viewer, f"/fragments/alerts/{alert.id}/history")
    assert (
        "<strong>bob</strong> acknowledged: card processor outage, on it (remind again if still firing after 60 min)"
        in history
    )
    acked = Alert.objects.get(id=alert.id)
    assert acked.state == "acknowledged" and acked.ack_expires_at is not None
    # Acknowledged, the form is gone: the alert is unacknowledged or resolved from here.
    assert fragment(people.responder, f"/fragments/alerts/{alert.id}/acknowledge").strip() == ""
    assert 'id="ack-form"' not in people.responder.get(f"/alerts/{alert.id}/").content.decode()


def test_without_a_reminder_the_acknowledgement_does_not_lapse(people: People, no_defaults: None) -> None:
    alert = make_alert(make_rule())
    answer = people.responder.post(
        f"/api/v1/alerts/{alert.id}/acknowledge", {"reason": "", "remind_after_minutes": None}
    )
    assert answer.status_code == 200
    assert Alert.objects.get(id=alert.id).ack_expires_at is None
    assert "<strong>bob</strong> acknowledged</li>" in fragment(people.viewer, f"/fragments/alerts/{alert.id}/history")


def test_a_viewer_gets_no_acknowledge_form(people: People, no_defaults: None) -> None:
    alert = make_alert(make_rule())
    assert 'id="ack-form"' not in people.viewer.get(f"/alerts/{alert.id}/").content.decode()
    assert fragment(people.viewer, f"/fragments/alerts/{alert.id}/acknowledge").strip() == ""


def test_the_acknowledge_fragment_sends_a_logged_out_page_to_the_login_form(client: Client, no_defaults: None) -> None:
    alert = make_alert(make_rule())
    answer = client.get(f"/fragments/alerts/{alert.id}/acknowledge", headers={"HX-Request": "true"})
    assert answer.headers["HX-Redirect"].startswith("/login/") and "ack-form" not in answer.content.decode()
