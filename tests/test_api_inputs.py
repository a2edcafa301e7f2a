"""What the API refuses, with a 422 naming the field and nothing stored, instead of failing
in the database (a 500) or storing what it cannot serve back."""

from __future__ import annotations

import json

import pytest
from django.http import HttpResponse

from alerts.models import Channel, Event, Rule, Silence
from tests.alert_fixtures import People, make_alert, make_rule
from tests.conftest import Reporter, call

RULE = {"name": "payments errors", "metric": "error_rate", "op": ">", "threshold": 0.2}
NUL = "\x00"
LONE_SURROGATE = "\ud800"


def post_raw(people: People, path: str, raw: bytes, method: str = "post") -> HttpResponse:
    return getattr(people.admin.client, method)(path, raw, content_type="application/json")


def post_json(people: People, path: str, body: dict) -> HttpResponse:
    """As a client would send it: the standard encoder writes a lone surrogate as an escape."""
    return post_raw(people, path, json.dumps(body).encode())


def assert_refused(response: HttpResponse, field: str) -> None:
    assert response.status_code == 422, response.content
    assert response.json()["field"] == field, response.content


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/functions", "q"),
        ("/api/v1/functions", "service"),
        ("/api/v1/queues", "service"),
        ("/api/v1/alerts", "service"),
    ],
)
# (A query string is UTF-8 bytes: a lone surrogate cannot be sent in one.)
@pytest.mark.parametrize("bad", [NUL, f"pay{NUL}ments"])
def test_it_refuses_a_query_filter_the_database_cannot_take(people: People, path: str, name: str, bad: str) -> None:
    assert_refused(people.viewer.get(path, **{name: bad}), name)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/rules", {**RULE, "name": f"payments{NUL}"}, "name"),
        ("/api/v1/rules", {**RULE, "service": NUL}, "service"),
        ("/api/v1/rules", {**RULE, "name": LONE_SURROGATE}, "name"),
        ("/api/v1/channels", {"name": f"ops{NUL}", "kind": "log"}, "name"),
        (
            "/api/v1/channels",
            {"name": "hook", "kind": "slack", "config": {"url": f"https://x.example/{NUL}"}},
            "config.url",
        ),
        (
            "/api/v1/channels",
            {"name": "mail", "kind": "email", "config": {"to": ["a@example.org", NUL]}},
            "config.to[1]",
        ),
        ("/api/v1/silences", {"minutes": 60, "comment": f"upgrade{NUL}"}, "comment"),
        ("/api/v1/silences", {"minutes": 60, "subject": LONE_SURROGATE}, "subject"),
    ],
)
def test_it_refuses_text_the_database_cannot_store(
    people: People, no_defaults: None, path: str, body: object, field: str
) -> None:
    assert_refused(post_json(people, path, body), field)
    assert not (Rule.objects.exists() or Channel.objects.exists() or Silence.objects.exists())


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("comment", {"text": NUL}, "text"),
        ("acknowledge", {"reason": NUL}, "reason"),
        ("resolve", {"comment": NUL}, "comment"),
    ],
)
def test_it_refuses_unstorable_text_on_an_alert(
    people: People, log_channel: Channel, action: str, body: object, field: str
) -> None:
    alert = make_alert(make_rule(log_channel))
    assert_refused(people.responder.post(f"/api/v1/alerts/{alert.id}/{action}", body), field)
    assert not Event.objects.filter(alert=alert).exists()


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/rules", {**RULE, "name": "   "}, "name"),
        ("/api/v1/rules", {**RULE, "subject": " "}, "subject"),
        ("/api/v1/channels", {"name": "\t ", "kind": "log"}, "name"),
    ],
)
def test_it_refuses_a_name_of_only_spaces(people: People, no_defaults: None, path: str, body: dict, field: str) -> None:
    assert_refused(people.admin.post(path, body), field)
    assert not (Rule.objects.exists() or Channel.objects.exists())


def test_it_refuses_a_comment_of_only_spaces(people: People, log_channel: Channel) -> None:
    alert = make_alert(make_rule(log_channel))
    assert_refused(people.responder.post(f"/api/v1/alerts/{alert.id}/comment", {"text": "  "}), "text")
    assert not Event.objects.filter(alert=alert).exists()


@pytest.mark.parametrize("field", ["enabled", "op", "threshold", "name", "window_minutes", "metric", "channels"])
def test_a_patch_cannot_set_a_required_field_to_null(people: People, log_channel: Channel, field: str) -> None:
    rule = make_rule(log_channel)
    assert_refused(people.admin.patch(f"/api/v1/rules/{rule.id}", {field: None}), field)
    rule.refresh_from_db()
    assert (rule.enabled, rule.op, rule.threshold, rule.name) == (True, ">", 0.2, "payments errors")
    assert list(rule.channels.all()) == [log_channel]


def test_a_patch_can_clear_what_may_be_null(people: People, log_channel: Channel) -> None:
    rule = make_rule(log_channel, resolve_threshold=0.1)
    r = people.admin.patch(f"/api/v1/rules/{rule.id}", {"resolve_threshold": None})
    assert r.status_code == 200 and r.json()["resolve_threshold"] is None
    channel = Channel.objects.create(name="hook", kind="log", config={}, rate_per_minute=5)
    r = people.admin.patch(f"/api/v1/channels/{channel.id}", {"rate_per_minute": None})
    assert r.status_code == 200 and r.json()["rate_per_minute"] is None


@pytest.mark.parametrize("field", ["name", "enabled", "config"])
def test_a_channel_patch_cannot_set_a_required_field_to_null(people: People, log_channel: Channel, field: str) -> None:
    assert_refused(people.admin.patch(f"/api/v1/channels/{log_channel.id}", {field: None}), field)
    log_channel.refresh_from_db()
    assert (log_channel.name, log_channel.config, log_channel.enabled) == ("log", {}, True)


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity"])
def test_it_refuses_numbers_that_are_not_finite(people: People, no_defaults: None, number: bytes) -> None:
    rule = b'{"name": "x", "metric": "error_rate", "threshold": %s}' % number
    assert_refused(post_raw(people, "/api/v1/rules", rule), "threshold")
    rule = b'{"name": "x", "metric": "error_rate", "threshold": 1, "resolve_threshold": %s}' % number
    assert_refused(post_raw(people, "/api/v1/rules", rule), "resolve_threshold")
    channel = b'{"name": "x", "kind": "log", "config": {"level": [1, %s]}}' % number
    assert_refused(post_raw(people, "/api/v1/channels", channel), "config.level[1]")
    assert not (Rule.objects.exists() or Channel.objects.exists())
    assert_refused(people.viewer.get("/api/v1/functions", max_age=2, newer_than=number.decode()), "newer_than")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**RULE, "threshold": "0.3"}, "threshold"),
        ({**RULE, "cooldown_minutes": False}, "cooldown_minutes"),
        ({**RULE, "window_minutes": "5"}, "window_minutes"),
        ({**RULE, "enabled": "yes"}, "enabled"),
        ({**RULE, "treshold": 0.3}, "treshold"),
    ],
)
def test_body_fields_take_their_json_type_and_nothing_unknown(
    people: People, no_defaults: None, body: dict, field: str
) -> None:
    assert_refused(people.admin.post("/api/v1/rules", body), field)
    assert not Rule.objects.exists()


def test_a_body_that_is_a_list_is_not_an_empty_patch(people: People, log_channel: Channel) -> None:
    rule = make_rule(log_channel)
    r = post_raw(people, f"/api/v1/rules/{rule.id}", b"[null, null]", method="patch")
    assert r.status_code == 422, r.content
    assert not Event.objects.filter(rule=rule).exists()


@pytest.mark.parametrize(
    ("starts_at", "field"),
    [
        ("2030-01-01T00:00:00", "starts_at"),  # no offset: which zone?
        (1893456000, "starts_at"),  # a number is not a date
        ("9999-12-31T23:59:59-05:00", "starts_at"),  # past the end of the calendar in UTC
        ("0001-01-01T00:00:00+01:00", "starts_at"),
    ],
)
def test_it_refuses_a_date_it_cannot_place(people: People, no_defaults: None, starts_at: object, field: str) -> None:
    assert_refused(people.admin.post("/api/v1/silences", {"starts_at": starts_at, "minutes": 60}), field)
    assert not Silence.objects.exists()


def test_ids_past_any_row_are_not_found(people: People, no_defaults: None) -> None:
    huge = 2**63
    assert people.admin.get(f"/api/v1/rules/{huge}").status_code in (404, 422)
    assert people.admin.post("/api/v1/rules", {**RULE, "channels": [huge]}).status_code == 422
    assert people.admin.post("/api/v1/silences", {"rule": huge, "minutes": 5}).status_code == 422
    assert not (Rule.objects.exists() or Silence.objects.exists())


def test_an_ingest_batch_id_with_a_nul_is_refused(reporter: Reporter) -> None:
    r = reporter.post({"batch_id": f"deploy{NUL}", "calls": [call()]})
    assert_refused(r, "batch_id")


def test_a_whole_number_may_be_written_with_a_zero_fraction(people: People, no_defaults: None) -> None:
    # JSON has one number type: 10.0 is as whole as 10 (what the OpenAPI document's "integer" says).
    r = people.admin.post("/api/v1/rules", {**RULE, "window_minutes": 10.0})
    assert r.status_code == 201, r.content
    assert Rule.objects.get().window_minutes == 10
    assert_refused(people.admin.post("/api/v1/rules", {**RULE, "window_minutes": 10.5}), "window_minutes")


@pytest.mark.parametrize(("page", "name"), [("/functions/", "q"), ("/functions/", "service"), ("/alerts/", "service")])
def test_a_page_shows_everything_for_a_filter_it_cannot_use(people: People, page: str, name: str) -> None:
    # The pages read their filters with the API's schemas: a NUL is refused there too, and the
    # page falls back to no filter instead of failing in the database.
    r = people.viewer.client.get(page, {name: f"pay{NUL}ments"})
    assert r.status_code == 200
    assert getattr(r.context["filters"], name) is None
