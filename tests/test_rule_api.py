"""Who may use the rules API's endpoints: anonymous 401, viewers read, admins configure."""

from __future__ import annotations

import pytest
from django.test import Client

from alerts.models import Rule
from alerts.rule_templates import TEMPLATES
from monitoring.models import AuditEntry
from tests.alert_fixtures import People, make_rule

BODY = {"name": "payments errors", "metric": "error_rate", "threshold": 0.2, "service": "payments"}


def calls(rule_id: int) -> list[tuple[str, str, dict | None]]:
    return [
        ("get", "/api/v1/rules", None),
        ("get", "/api/v1/rules/templates", None),
        ("post", "/api/v1/rules/preview", BODY),
        ("post", "/api/v1/rules", BODY),
        ("get", f"/api/v1/rules/{rule_id}", None),
        ("put", f"/api/v1/rules/{rule_id}", BODY),
        ("patch", f"/api/v1/rules/{rule_id}", {"enabled": False}),
        ("delete", f"/api/v1/rules/{rule_id}", None),
    ]


def send(client: Client, method: str, path: str, body: dict | None) -> int:
    if body is None:
        return getattr(client, method)(path).status_code
    return getattr(client, method)(path, body, content_type="application/json").status_code


def test_anonymous_gets_401_everywhere(people: People, no_defaults: None) -> None:
    rule = make_rule()
    for method, path, body in calls(rule.id):
        assert send(Client(), method, path, body) == 401, (method, path)
    assert Rule.objects.get(id=rule.id).enabled


@pytest.mark.parametrize("who", ["viewer", "responder"])
def test_viewers_and_responders_read_rules_but_not_templates_previews_or_writes(
    people: People, no_defaults: None, who: str
) -> None:
    rule = make_rule()
    client = getattr(people, who).client
    expected = {"/api/v1/rules": 200, f"/api/v1/rules/{rule.id}": 200}
    for method, path, body in calls(rule.id):
        want = expected.get(path, 403) if method == "get" else 403
        assert send(client, method, path, body) == want, (method, path)
    assert Rule.objects.get(id=rule.id).enabled and Rule.objects.count() == 1
    assert not AuditEntry.objects.exists()


def test_admins_may_do_everything(people: People, no_defaults: None) -> None:
    rule = make_rule()
    answers = [send(people.admin.client, m, p, b) for m, p, b in calls(rule.id)]
    assert answers == [200, 200, 200, 201, 200, 200, 200, 204]
    actions = sorted(AuditEntry.objects.filter(kind="rule").values_list("action", flat=True))
    assert actions == ["created", "deleted", "disabled", "updated"]


def test_a_personal_token_works_like_a_session(people: People, no_defaults: None) -> None:
    token = people.token_for(people.admin)
    r = Client().get("/api/v1/rules/templates", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code == 200


def test_templates_are_create_bodies(people: People, no_defaults: None) -> None:
    templates = people.admin.get("/api/v1/rules/templates").json()
    assert [t["key"] for t in templates] == [t.key for t in TEMPLATES]
    assert len(templates) == 10
    by_key = {t["key"]: t for t in templates}
    assert by_key["retry-amplification"]["rule"]["metric"] == "retries_per_call"
    assert by_key["breaker-open"]["rule"]["threshold"] == 300
    for template in templates:
        r = people.admin.post("/api/v1/rules", template["rule"])
        assert r.status_code == 201, (template["key"], r.content)
    assert Rule.objects.count() == 10


def test_the_list_says_how_many_alerts_are_firing(people: People, no_defaults: None) -> None:
    from tests.alert_fixtures import make_alert

    rule = make_rule()
    make_alert(rule)
    make_alert(rule, fingerprint="function:9", state="resolved")
    listed = people.viewer.get("/api/v1/rules").json()["items"]
    assert [(r["id"], r["firing"]) for r in listed] == [(rule.id, 1)]
    assert people.viewer.get(f"/api/v1/rules/{rule.id}").json()["firing"] == 1


def test_the_preview_names_the_bad_field_like_create(people: People, no_defaults: None) -> None:
    r = people.admin.post("/api/v1/rules/preview", {**BODY, "window_minutes": 0})
    assert r.status_code == 422 and r.json()["detail"].startswith("window_minutes: ")
    r = people.admin.post("/api/v1/rules/preview", {**BODY, "channels": [999]})
    assert r.status_code == 422 and r.json()["detail"] == "channels[0]: no channel with id 999"
