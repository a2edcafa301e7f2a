"""Two projects side by side: each person sees and acts on their own projects only, and
another project's objects are not found (404), so their names do not leak."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from monitoring.models import IngestToken, Project, Service
from tests.browser import join, make_user
from tests.conftest import Reporter, call, now_iso

pytestmark = pytest.mark.django_db


@pytest.fixture
def two(client: Client) -> dict:
    """Payments (the default project) and an AI platform project, each with a service that
    reported a function and a queue."""
    ai = Project.objects.create(name="AI platform", slug="ai")
    found = {}
    for name, project in (("payments", Project.objects.default()), ("llm", ai)):
        service = Service.objects.create(name=name, project=project)
        raw = IngestToken.issue(service=service)[1]
        batch = {"calls": [call(f"{name}-call", "failure")], "queues": [queue_item(f"{name}-queue")]}
        assert Reporter(client, raw).post(batch).status_code == 202
        found[name] = {
            "service": service,
            "token": raw,
            "function": service.functions.get().id,
            "queue": service.queues.get().id,
        }
    found["ai"] = ai
    return found


def queue_item(name: str) -> dict:
    return {"queue": name, "ts": now_iso(), "depth": 5, "in_flight": 0, "dead_letter": 0}


def as_user(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def names(answer: dict | list) -> list[str]:
    rows = answer["items"] if isinstance(answer, dict) else answer
    return sorted(row["name"] for row in rows)


def test_a_viewer_of_one_project_sees_only_its_objects(client: Client, two: dict) -> None:
    as_user(client, make_user("viewer"))  # in the default project: payments
    assert names(client.get("/api/v1/services").json()) == ["payments"]
    assert names(client.get("/api/v1/functions").json()) == ["payments-call"]
    assert names(client.get("/api/v1/queues").json()) == ["payments-queue"]
    overview = client.get("/api/v1/overview").json()
    assert overview["functions"] == 1 and [row["name"] for row in overview["trouble"]] == ["payments-call"]
    assert client.get("/api/v1/trend").json()["calls"] == 1
    llm = two["llm"]
    for path in (
        f"/api/v1/functions/{llm['function']}",
        f"/api/v1/functions/{llm['function']}/series",
        f"/api/v1/functions/{llm['function']}/trend",
        f"/api/v1/services/{llm['service'].id}/series",
        f"/api/v1/queues/{llm['queue']}/series",
        f"/functions/{llm['function']}/",
        f"/services/{llm['service'].id}/",
        "/services/named/llm/",
        f"/queues/{llm['queue']}/",
    ):
        assert client.get(path).status_code == 404, path
    page = client.get("/functions/").content.decode()
    assert "payments-call" in page and "llm-call" not in page


def test_the_owner_sees_both(client: Client, two: dict) -> None:
    as_user(client, make_user("admin"))
    assert names(client.get("/api/v1/functions").json()) == ["llm-call", "payments-call"]
    assert client.get("/api/v1/overview").json()["functions"] == 2
    assert client.get("/api/v1/trend").json()["calls"] == 2


def test_an_admin_in_one_project_and_a_viewer_in_another_acts_in_the_first_only(client: Client, two: dict) -> None:
    dana = make_user("viewer", "dana")  # a viewer in the default project, where payments is
    join(dana, "admin", two["ai"])
    as_user(client, dana)
    llm, payments = two["llm"]["service"], two["payments"]["service"]
    renamed = client.patch(f"/api/v1/services/{llm.id}", {"name": "llm-gateway"}, content_type="application/json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "llm-gateway"
    refused = client.patch(f"/api/v1/services/{payments.id}", {"name": "x"}, content_type="application/json")
    assert refused.status_code == 403
    assert client.post(f"/api/v1/services/{payments.id}/tokens").status_code == 403
    assert client.post(f"/api/v1/services/{llm.id}/tokens").status_code == 201
    # The settings page of a service follows the service's project, not the current one.
    assert client.get(f"/services/{llm.id}/settings/").status_code == 200
    assert client.get(f"/services/{payments.id}/settings/").status_code == 403


def test_a_stranger_gets_404_for_another_projects_service_even_as_an_admin_elsewhere(client: Client, two: dict) -> None:
    erin = User.objects.create_user("erin")
    join(erin, "admin", two["ai"])
    as_user(client, erin)
    payments = two["payments"]["service"]
    assert client.get(f"/api/v1/services/{payments.id}").status_code == 404
    assert client.delete(f"/api/v1/services/{payments.id}").status_code == 404
    assert client.post(f"/services/{payments.id}/delete/").status_code == 404
    assert Service.objects.filter(id=payments.id).exists()


def test_a_new_service_goes_to_the_current_project(client: Client, two: dict) -> None:
    erin = User.objects.create_user("erin")
    join(erin, "admin", two["ai"])
    as_user(client, erin)
    made = client.post("/api/v1/services", {"name": "embeddings"}, content_type="application/json")
    assert made.status_code == 201
    assert Service.objects.get(name="embeddings").project == two["ai"]


def test_an_ingest_token_writes_into_its_own_service_only(client: Client, two: dict) -> None:
    """The batch names functions, never a service: the token's service gets them."""
    llm_token = two["llm"]["token"]
    batch = {"calls": [call("payments-call")], "queues": [queue_item("payments-queue")]}
    assert Reporter(client, llm_token).post(batch).status_code == 202
    payments, llm = two["payments"]["service"], two["llm"]["service"]
    assert sorted(llm.functions.values_list("name", flat=True)) == ["llm-call", "payments-call"]
    assert list(payments.functions.values_list("name", flat=True)) == ["payments-call"]
    assert sorted(llm.queues.values_list("name", flat=True)) == ["llm-queue", "payments-queue"]
    # The payments function still has only its own one call.
    as_user(client, make_user("viewer"))
    assert client.get("/api/v1/trend").json()["calls"] == 1
