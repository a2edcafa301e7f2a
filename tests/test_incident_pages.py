"""The incident list and page for each role: viewers read, responders act with plain forms
(Post/Redirect/Get with a flash message), anonymous visitors go to the login page."""

from __future__ import annotations

import pytest
from django.test import Client

from alerts.models import Alert, Channel, Incident
from tests.alert_fixtures import People, make_alert, make_rule


@pytest.fixture
def incident(log_channel: Channel) -> Incident:
    first = make_alert(make_rule(log_channel))
    make_alert(make_rule(log_channel, name="breaker open", metric="breaker_open_s", severity="high"), flaps=3)
    return first.incident


@pytest.mark.parametrize("path", ["/incidents/", "/incidents/{id}/"])
def test_anonymous_goes_to_the_login_page(client: Client, incident: Incident, path: str) -> None:
    r = client.get(path.format(id=incident.id))
    assert r.status_code == 302 and "/login/" in r["Location"]


@pytest.mark.parametrize("who", ["viewer", "responder", "admin"])
def test_the_list_shows_each_incident(people: People, incident: Incident, who: str) -> None:
    page = getattr(people, who).client.get("/incidents/").content.decode()
    assert f'href="/incidents/{incident.id}/"' in page
    assert "payments/charge" in page and "open for" in page
    assert 'aria-current="page">Incidents</a>' in page  # the nav entry, for every role


def test_the_list_says_what_to_do_when_empty(people: People, no_defaults: None) -> None:
    page = people.viewer.client.get("/incidents/").content.decode()
    assert 'id="incidents-empty"' in page and "No incidents yet" in page
    page = people.viewer.client.get("/incidents/?state=resolved").content.decode()
    assert "No resolved incidents." in page


def test_a_viewer_sees_the_incident_without_actions(people: People, incident: Incident) -> None:
    r = people.viewer.client.get(f"/incidents/{incident.id}/")
    page = r.content.decode()
    assert r.status_code == 200
    for alert in Alert.objects.all():
        assert f'href="/alerts/{alert.id}/"' in page
    assert "Open for <strong>" in page and "3 flaps" in page
    assert 'id="incident-actions"' not in page
    assert people.viewer.client.post(f"/incidents/{incident.id}/acknowledge/").status_code == 403
    assert Incident.objects.get().state == "open"


@pytest.mark.parametrize("who", ["responder", "admin"])
def test_a_responder_acknowledges_with_the_form(people: People, incident: Incident, who: str) -> None:
    person = getattr(people, who)
    page = person.client.get(f"/incidents/{incident.id}/").content.decode()
    assert 'id="ack-form"' in page and 'id="resolve-form"' in page
    r = person.client.post(f"/incidents/{incident.id}/acknowledge/", {"reason": "on it", "remind_after_minutes": ""})
    assert r.status_code == 302 and r["Location"] == f"/incidents/{incident.id}/"
    assert set(Alert.objects.values_list("state", flat=True)) == {"acknowledged"}
    page = person.client.get(r["Location"]).content.decode()
    assert f"Incident #{incident.id} acknowledged." in page
    assert 'id="ack-form"' not in page  # nothing left to acknowledge
    assert "on it" in page  # the timeline line


def test_suppress_and_resolve_forms(people: People, incident: Incident) -> None:
    client = people.responder.client
    r = client.post(f"/incidents/{incident.id}/suppress/", {"minutes": "60", "comment": "deploy"})
    assert r.status_code == 302
    assert all(a.suppressed_until for a in Alert.objects.all())
    r = client.post(f"/incidents/{incident.id}/suppress/", {"minutes": "0"})
    assert "minutes" in client.get(r["Location"]).content.decode()  # the refusal, as a flash message
    r = client.post(f"/incidents/{incident.id}/resolve/", {"comment": "fixed"})
    assert r.status_code == 302
    assert Incident.objects.get().state == "resolved"
    page = client.get(r["Location"]).content.decode()
    assert "Resolved after" in page and 'id="incident-actions"' not in page


def test_an_alert_page_links_to_its_incident(people: People, incident: Incident) -> None:
    alert = incident.alerts.first()
    page = people.viewer.client.get(f"/alerts/{alert.id}/").content.decode()
    assert f'href="/incidents/{incident.id}/"' in page
