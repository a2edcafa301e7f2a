from __future__ import annotations

import pytest
from django.test import Client

from queues.models import Queue
from tests.browser import make_user
from tests.conftest import Reporter, now_iso

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer(client: Client) -> Client:
    client.force_login(make_user("viewer"))
    return client


def test_it_explains_how_to_report_queues(viewer: Client) -> None:
    page = viewer.get("/queues/").content.decode()
    assert "No queue has reported" in page
    assert '"queues": [{"queue": "email_queue"' in page


def test_it_shows_a_queue_and_its_latest_snapshot(viewer: Client, reporter: Reporter) -> None:
    snapshot = {
        "queue": "email_queue",
        "ts": now_iso(),
        "depth": 120,
        "in_flight": 4,
        "dead_letter": 2,
        "oldest_age_s": 31.5,
    }
    assert reporter.post({"queues": [snapshot]}).status_code == 202
    queue = Queue.objects.get(name="email_queue")
    row = viewer.get("/queues/").content.decode().split(f'data-queue="{queue.id}"')[1].split("</tr>")[0]
    assert '<td class="num">120</td>' in row and '<td class="num">31.5 s</td>' in row
    page = viewer.get(f"/queues/{queue.id}/").content.decode()
    assert '<div class="value" id="dead-letter">2</div>' in page
    assert 'id="depth-chart"' in page
    assert viewer.get("/queues/999999/").status_code == 404
