"""Personal API tokens narrowed to one project, or to reading: through the real API, the
tokens page and the command. A token never has more than its person's rights."""

from __future__ import annotations

from io import StringIO

import orjson
import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from monitoring.models import AuditEntry, IngestToken, Membership, Project, Service, UserToken
from tests.browser import PASSWORD, join, make_user
from tests.conftest import Reporter, call

pytestmark = pytest.mark.django_db


@pytest.fixture
def two(client: Client) -> dict:
    """Payments (the default project) and an AI platform project, a service each that reported
    a function; dana is admin in payments and responder in ai."""
    ai = Project.objects.create(name="AI platform", slug="ai")
    found: dict = {"ai": ai, "default": Project.objects.default()}
    for name, project in (("payments", found["default"]), ("llm", ai)):
        service = Service.objects.create(name=name, project=project)
        raw = IngestToken.issue(service=service)[1]
        assert Reporter(client, raw).post({"calls": [call(f"{name}-call")]}).status_code == 202
        found[name] = service
    dana = User.objects.create_user("dana", password=PASSWORD)
    join(dana, "admin", found["default"])
    join(dana, "responder", ai)
    found["dana"] = dana
    return found


def bearer(raw: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {raw}"})


def issue(user: User, **body: object) -> tuple[dict, Client]:
    session = Client()
    session.force_login(user)
    answer = session.post("/api/v1/me/tokens", {"name": "script", **body}, content_type="application/json")
    assert answer.status_code == 201, answer.content
    return answer.json(), bearer(answer.json()["token"])


def send(client: Client, method: str, url: str, body: dict) -> int:
    return client.generic(method, url, orjson.dumps(body), content_type="application/json").status_code


def names(answer: dict | list) -> list[str]:
    rows = answer["items"] if isinstance(answer, dict) else answer
    return sorted(row["name"] for row in rows)


def test_a_token_narrowed_to_a_project_sees_and_acts_in_it_only(two: dict) -> None:
    created, script = issue(two["dana"], project="ai")
    assert (created["project"], created["project_name"], created["read_only"]) == ("ai", "AI platform", False)

    assert names(script.get("/api/v1/services").json()) == ["llm"]
    assert names(script.get("/api/v1/functions").json()) == ["llm-call"]
    assert script.get("/api/v1/overview").json()["functions"] == 1
    payments = two["payments"]
    assert script.get(f"/api/v1/services/{payments.id}").status_code == 404
    assert script.get(f"/api/v1/functions/{payments.functions.get().id}").status_code == 404
    # Dana is admin of payments, but the token acts in ai only: payments is not found.
    assert (
        script.patch(f"/api/v1/services/{payments.id}", {"name": "x"}, content_type="application/json").status_code
        == 404
    )
    # In ai, the person's role there (responder): no admin's writes.
    llm = two["llm"]
    assert script.patch(f"/api/v1/services/{llm.id}", {"name": "x"}, content_type="application/json").status_code == 403
    # Its current project is ai: a new service would go there, and needs admin there.
    assert script.post("/api/v1/services", {"name": "new"}, content_type="application/json").status_code == 403
    assert Service.objects.filter(name="x").count() == 0


def test_the_same_person_unnarrowed_sees_both(two: dict) -> None:
    _, script = issue(two["dana"])
    assert names(script.get("/api/v1/services").json()) == ["llm", "payments"]


def test_the_owners_token_narrowed_acts_as_an_admin_of_that_project_only(two: dict) -> None:
    owner = make_user("admin", "owner")
    _, script = issue(owner, project="ai")
    assert names(script.get("/api/v1/services").json()) == ["llm"]
    assert script.get(f"/api/v1/services/{two['payments'].id}").status_code == 404
    assert script.get("/api/v1/users").status_code == 403  # people are the owner's, not a project's
    renamed = script.patch(f"/api/v1/services/{two['llm'].id}", {"name": "llm-2"}, content_type="application/json")
    assert renamed.status_code == 200
    created = script.post("/api/v1/services", {"name": "vision"}, content_type="application/json")
    assert created.status_code == 201 and Service.objects.get(name="vision").project == two["ai"]
    _, whole = issue(owner)
    assert names(whole.get("/api/v1/services").json()) == ["llm-2", "payments", "vision"]


def test_a_read_only_token_reads_but_every_write_answers_403(two: dict) -> None:
    created, script = issue(two["dana"], read_only=True)
    assert created["read_only"] is True and created["project"] is None
    assert names(script.get("/api/v1/services").json()) == ["llm", "payments"]
    payments = two["payments"]
    writes = [
        script.patch(f"/api/v1/services/{payments.id}", {"name": "x"}, content_type="application/json"),
        script.post("/api/v1/services", {"name": "new"}, content_type="application/json"),
        script.delete(f"/api/v1/services/{payments.id}"),
        script.post("/api/v1/me/tokens", {"name": "wider"}, content_type="application/json"),
    ]
    for answer in writes:
        assert answer.status_code == 403, answer.content
        assert "read-only" in answer.json()["detail"]
    assert sorted(Service.objects.values_list("name", flat=True)) == ["llm", "payments"]
    assert UserToken.objects.count() == 1


def test_a_narrowed_token_issues_only_tokens_narrowed_to_its_project(two: dict) -> None:
    _, script = issue(two["dana"], project="ai")
    second = script.post("/api/v1/me/tokens", {"name": "second"}, content_type="application/json")
    assert second.status_code == 201 and second.json()["project"] == "ai"
    other = script.post("/api/v1/me/tokens", {"name": "third", "project": "default"}, content_type="application/json")
    assert other.status_code == 422 and other.json()["field"] == "project"
    assert names(bearer(second.json()["token"]).get("/api/v1/services").json()) == ["llm"]


def test_a_person_who_loses_the_project_loses_it_for_the_token_too(two: dict) -> None:
    _, script = issue(two["dana"], project="ai")
    assert names(script.get("/api/v1/services").json()) == ["llm"]
    Membership.objects.filter(user=two["dana"], project=two["ai"]).delete()
    assert names(script.get("/api/v1/services").json()) == []
    assert script.get(f"/api/v1/services/{two['llm'].id}").status_code == 404
    # Deleting the project deletes the tokens narrowed to it (left without, it would reach all).
    Service.objects.filter(project=two["ai"]).delete()
    two["ai"].delete()
    assert not UserToken.objects.filter(project__isnull=False).exists()


def test_a_token_is_narrowed_only_to_a_project_of_its_person(two: dict) -> None:
    viewer = make_user("viewer")  # in the default project only
    session = Client()
    session.force_login(viewer)
    for body in ({"project": "ai"}, {"project": "nowhere"}):
        answer = session.post("/api/v1/me/tokens", {"name": "x", **body}, content_type="application/json")
        assert answer.status_code == 422 and answer.json()["field"] == "project"
    answer = session.post(
        "/api/v1/me/tokens",
        {"name": "x", "scope": "metrics:read", "project": "default"},
        content_type="application/json",
    )
    assert answer.status_code == 422 and answer.json()["field"] == "project"
    assert not UserToken.objects.exists()


def test_anonymous_callers_and_every_role_on_the_narrowed_fields(two: dict) -> None:
    assert (
        Client()
        .post("/api/v1/me/tokens", {"name": "x", "project": "default"}, content_type="application/json")
        .status_code
        == 401
    )
    for role in ("viewer", "responder", "admin"):
        created, script = issue(make_user(role), project="default", read_only=True)
        assert created["project"] == "default" and created["read_only"] is True
        assert names(script.get("/api/v1/services").json()) == ["payments"]
        assert script.delete(f"/api/v1/me/tokens/{created['id']}").status_code == 403


def test_the_narrowing_is_in_the_audit_entry_and_the_list(two: dict) -> None:
    created, _ = issue(two["dana"], project="ai", read_only=True)
    entry = AuditEntry.objects.get(kind="usertoken")
    assert entry.after["project"] == "ai" and entry.after["read_only"] is True
    session = Client()
    session.force_login(two["dana"])
    [row] = session.get("/api/v1/me/tokens").json()["items"]
    assert (row["project"], row["read_only"]) == ("ai", True)
    assert created["token"] not in str(entry.after)


def test_the_tokens_page_creates_a_narrowed_read_only_token(client: Client, two: dict) -> None:
    client.force_login(two["dana"])
    page = client.get("/settings/tokens/").content.decode()
    assert 'name="project"' in page and "AI platform" in page and 'name="read_only"' in page
    answer = client.post("/settings/tokens/", {"name": "dashboards", "project": "ai", "read_only": "on"}, follow=True)
    assert answer.status_code == 200
    token = UserToken.objects.get()
    assert token.project == two["ai"] and token.read_only
    shown = answer.content.decode()
    assert "the API in AI platform" in shown and "read-only" in shown


def test_the_tokens_page_names_a_bad_project(client: Client, two: dict) -> None:
    client.force_login(make_user("viewer"))
    answer = client.post("/settings/tokens/", {"name": "x", "project": "ai"})
    assert answer.status_code == 422
    assert 'id="project-error"' in answer.content.decode()
    assert not UserToken.objects.exists()


def test_the_command_narrows_a_token(two: dict) -> None:
    out = StringIO()
    call_command("create_user_token", "dana", "--project", "ai", "--read-only", stdout=out)
    script = bearer(out.getvalue().strip())
    assert names(script.get("/api/v1/services").json()) == ["llm"]
    assert script.post("/api/v1/services", {"name": "z"}, content_type="application/json").status_code == 403
    with pytest.raises(CommandError, match="--project"):
        call_command("create_user_token", "dana", "--project", "nowhere", stdout=StringIO())
