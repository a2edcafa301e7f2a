"""Read back what a service reported, through the monitor's own API, as a viewer would."""

from __future__ import annotations

from django.test import Client

from tests.browser import make_user


class MonitorApi:
    def __init__(self, client: Client) -> None:
        self.client = client

    def get(self, path: str, **params: object) -> dict | list:
        response = self.client.get(f"/api/v1{path}", params)
        assert response.status_code == 200, response.content
        return response.json()

    def function(self, name: str, service: str = "payments") -> dict | None:
        """The function's detail (breaker per instance, flips), or None while unknown."""
        page = self.get("/functions", service=service, q=name, limit=100)
        found = [row for row in page["items"] if row["name"] == name]
        return self.get(f"/functions/{found[0]['id']}") if found else None

    def totals(self, name: str, service: str = "payments") -> dict:
        """The function's calls over the last hour, added up: calls, success, failure, retries, max_ms..."""
        function = self.function(name, service)
        if function is None:
            return {"calls": 0}
        return self.get(f"/functions/{function['id']}/series", minutes=60)["totals"]

    def errors(self, name: str, service: str = "payments") -> dict[str, int]:
        """The function's errors over the last hour by type."""
        function = self.function(name, service)
        assert function is not None
        answer = self.get(f"/functions/{function['id']}/errors", range="1h")
        return {row["name"]: row["count"] for row in answer["types"]}

    def queue(self, name: str, service: str = "payments") -> dict | None:
        page = self.get("/queues", service=service, limit=100)
        found = [row for row in page["items"] if row["name"] == name]
        return found[0] if found else None


def viewer_api(client: Client) -> MonitorApi:
    """For a test module's own `api` fixture (needs the database)."""
    client.force_login(make_user("viewer"))
    return MonitorApi(client)
