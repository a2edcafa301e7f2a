from __future__ import annotations

import pytest
from django.test import Client

from alerts import lifecycle
from alerts.models import Alert, Channel, Delivery, Rule
from monitoring.models import Function
from tests.browser import make_user
from tests.conftest import Reporter, call

pytestmark = pytest.mark.django_db


def fire(subject: str = "charge") -> Alert:
    rule = Rule.objects.create(name=f"{subject} errors", metric="error_rate", threshold=0.2, severity="critical")
    observation = lifecycle.Observation(
        fingerprint=f"payments/{subject}", service="payments", subject=subject, value=0.5
    )
    alert = lifecycle.fire(rule, observation)
    assert alert is not None
    return alert


def dead_delivery(alert: Alert) -> Delivery:
    channel = Channel.objects.create(name="ops log", kind="log")
    return Delivery.objects.create(
        alert=alert, channel=channel, event="firing", state="dead", attempts=5, last_error="connection refused"
    )


def logged_in(client: Client, role: str) -> Client:
    client.force_login(make_user(role))
    return client


def test_it_lists_alerts_by_state(client: Client) -> None:
    firing, acked = fire("charge"), fire("refund")
    lifecycle.acknowledge(acked, make_user("responder"))
    viewer = logged_in(client, "viewer")
    page = viewer.get("/alerts/?state=firing").content.decode()
    assert f'data-alert="{firing.id}"' in page and f'data-alert="{acked.id}"' not in page
    page = viewer.get("/alerts/?state=acknowledged").content.decode()
    assert f'data-alert="{acked.id}"' in page and ">responder<" in page
    history = viewer.get("/alerts/").content.decode()
    assert f'data-alert="{firing.id}"' in history and f'data-alert="{acked.id}"' in history


def test_it_shows_suppressed_alerts_under_their_own_tab(client: Client) -> None:
    alert = fire()
    lifecycle.suppress(alert, make_user("responder"), 60, "deploying")
    page = logged_in(client, "viewer").get("/alerts/?state=suppressed").content.decode()
    row = page.split(f'data-alert="{alert.id}"')[1].split("</tr>")[0]
    assert '<span class="badge suppressed">suppressed</span>' in row


def test_it_tells_how_alerts_come_about_when_there_are_none(client: Client) -> None:
    page = logged_in(client, "viewer").get("/alerts/").content.decode()
    assert "No alerts yet." in page and 'href="/rules/"' in page and 'href="/channels/"' in page


def test_a_viewer_sees_no_action_buttons(client: Client) -> None:
    alert = fire()
    dead_delivery(alert)
    viewer = logged_in(client, "viewer")
    page = viewer.get(f"/alerts/{alert.id}/").content.decode()
    assert "fired" in page  # the timeline is there
    assert "data-action=" not in page and "suppress-form" not in page and "comment-form" not in page
    assert "data-retry=" not in viewer.get("/alerts/").content.decode()


def test_a_responder_sees_the_actions_and_retry_now(client: Client) -> None:
    alert = fire()
    delivery = dead_delivery(alert)
    responder = logged_in(client, "responder")
    page = responder.get(f"/alerts/{alert.id}/").content.decode()
    # Only what fits a firing alert: it can be acknowledged or resolved, not unacknowledged.
    assert 'data-action="acknowledge"' in page and 'data-action="resolve"' in page
    assert 'data-action="unacknowledge"' not in page
    assert '<option value="60" selected>1 hour</option>' in page
    assert 'id="comment-form"' in page
    listing = responder.get("/alerts/").content.decode()
    assert f'data-retry="{delivery.id}"' in listing and "connection refused" in listing


def test_it_shows_the_alert_on_its_function_page(client: Client, reporter: Reporter) -> None:
    assert reporter.post({"calls": [call("charge", "failure")]}).status_code == 202
    alert = fire("charge")
    function = Function.objects.get(name="charge")
    page = logged_in(client, "viewer").get(f"/functions/{function.id}/").content.decode()
    assert f'href="/alerts/{alert.id}/"' in page and "charge errors" in page


def test_an_unknown_alert_is_not_found(client: Client) -> None:
    assert logged_in(client, "viewer").get("/alerts/999999/").status_code == 404


def test_the_overview_counts_firing_alerts_only(client: Client) -> None:
    fire("charge")
    lifecycle.acknowledge(fire("refund"), make_user("responder"))
    viewer = logged_in(client, "viewer")
    assert viewer.get("/api/v1/overview").json()["firing_alerts"] == 1
    assert '<div class="value" data-figure="firing_alerts">1</div>' in viewer.get("/").content.decode()


def test_the_actions_follow_the_alert_state(client: Client) -> None:
    alert = fire()
    responder = logged_in(client, "responder")
    lifecycle.acknowledge(alert, make_user("admin"))
    page = responder.get(f"/alerts/{alert.id}/").content.decode()
    assert 'data-action="unacknowledge"' in page and 'data-action="acknowledge"' not in page
    lifecycle.resolve(alert)
    state = responder.get(f"/fragments/alerts/{alert.id}/state", headers={"HX-Request": "true"}).content.decode()
    assert "data-action=" not in state and "nothing to act on" in state
