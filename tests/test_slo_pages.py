"""The /slos/ pages: everyone reads the list and an SLO's page; admins create, edit and delete
through the form, which refuses like the API and names the field."""

from __future__ import annotations

import pytest
import time_machine
from django.test import Client

from alerts.models import SLO, Channel
from monitoring.models import AuditEntry
from tests.alert_fixtures import People
from tests.slo_fixtures import NOW, make_function, make_slo, seed_minutes

FORM = {
    "name": "refunds succeed",
    "service": "payments",
    "function": "refund",
    "objective": "success",
    "target": "99.5",
    "latency_ms": "",
    "window_days": "7",
    "burn_alerts.0.name": "fast",
    "burn_alerts.0.long_minutes": "60",
    "burn_alerts.0.short_minutes": "5",
    "burn_alerts.0.burn_rate": "14.4",
    "burn_alerts.0.severity": "critical",
    "enabled": "on",
}


@pytest.mark.parametrize("path", ["/slos/", "/slos/new/", "/slos/1/", "/slos/1/edit/"])
def test_it_sends_anonymous_visitors_to_log_in(db: None, path: str) -> None:
    r = Client().get(path)
    assert r.status_code == 302 and r["Location"].startswith("/login/")


@pytest.mark.parametrize("who", ["viewer", "responder"])
def test_others_read_but_do_not_configure(people: People, no_defaults: None, who: str) -> None:
    slo = make_slo(make_function())
    client = getattr(people, who).client
    listing = client.get("/slos/").content.decode()
    assert "checkout succeeds" in listing and "New SLO" not in listing and "Delete" not in listing
    assert ">SLOs</a>" in listing  # in the navigation for every role
    page = client.get(f"/slos/{slo.id}/").content.decode()
    assert "99.9 % of calls succeed over 30 days" in page and "Edit" not in page
    for path in ("/slos/new/", f"/slos/{slo.id}/edit/"):
        assert client.get(path).status_code == 403
    assert client.post("/slos/new/", FORM).status_code == 403
    assert client.post(f"/slos/{slo.id}/delete/").status_code == 403
    assert SLO.objects.count() == 1


def test_the_list_shows_budget_burn_and_status(people: People, no_defaults: None) -> None:
    function = make_function()
    slo = make_slo(function)
    seed_minutes(function, 3 * 24 * 60, calls=1000, bad=2)
    with time_machine.travel(NOW, tick=False):
        page = people.viewer.client.get("/slos/").content.decode()
    row = page[page.index(f'data-slo="{slo.id}"') :].split("</tr>")[0]
    # 2 bad in 1,000 against a 0.1 % budget over 3 of 30 days: 2x, and -100 % left.
    assert "-100.0 %" in row and "2x" in row and "payments/charge" in row and "30 days" in row


def test_an_empty_list_says_what_to_do(people: People, no_defaults: None) -> None:
    assert "Create the first one" in people.admin.client.get("/slos/").content.decode()
    assert "Ask an admin" in people.viewer.client.get("/slos/").content.decode()


def test_admins_create_edit_and_delete_through_the_form(people: People, log_channel: Channel) -> None:
    make_function(name="refund")
    r = people.admin.client.post("/slos/new/", {**FORM, "channels": [str(log_channel.id)]})
    slo = SLO.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/slos/{slo.id}/"
    assert (slo.target, slo.window_days, slo.function.name) == (99.5, 7, "refund")
    assert [a["name"] for a in slo.burn_alerts] == ["fast"]
    assert list(slo.rule.channels.all()) == [log_channel]
    page = people.admin.client.get(r["Location"]).content.decode()
    assert "SLO “refunds succeed” created." in page and "8.6 % of the budget in 1 h" in page

    form = people.admin.client.get(f"/slos/{slo.id}/edit/").content.decode()
    assert 'value="99.5"' in form and 'name="burn_alerts.0.burn_rate"' in form
    r = people.admin.client.post(f"/slos/{slo.id}/edit/", {**FORM, "target": "99", "function": ""})
    assert r.status_code == 302
    slo.refresh_from_db()
    assert (slo.target, slo.function, slo.service.name) == (99.0, None, "payments")

    r = people.admin.client.post(f"/slos/{slo.id}/delete/")
    assert r.status_code == 302 and not SLO.objects.exists()
    assert [e.action for e in AuditEntry.objects.filter(kind="slo")] == ["deleted", "updated", "created"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"target": "100"}, "target"),
        ({"function": "nope"}, "function"),
        ({"objective": "latency"}, "latency_ms"),
        ({"window_days": "14"}, "window_days"),
    ],
)
def test_the_form_refuses_naming_the_field(people: People, no_defaults: None, change: dict, field: str) -> None:
    make_function(name="refund")
    r = people.admin.client.post("/slos/new/", {**FORM, **change})
    assert r.status_code == 422
    page = r.content.decode()
    assert f'<p class="field-error" id="{field}-error">' in page
    assert f'aria-invalid="true" aria-describedby="{field}-error"' in page
    assert 'value="refunds succeed"' in page  # what was typed stays
    assert not SLO.objects.exists()


def test_a_bad_burn_window_is_marked_in_its_cell(people: People, no_defaults: None) -> None:
    make_function(name="refund")
    r = people.admin.client.post("/slos/new/", {**FORM, "burn_alerts.0.short_minutes": "90"})
    assert r.status_code == 422
    page = r.content.decode()
    assert 'id="burn_alerts.0.short_minutes-error">must be shorter than the long window' in page
