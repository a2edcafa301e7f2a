"""docs/status-page.md's JSON example has the shape of a real answer: the same keys at every
level, and values of the same kinds (a number may be null where the doc shows null)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client

from alerts.models import StatusIncident, StatusPage, StatusUpdate
from tests.status_seed import NOW, make_status_page

DOC = Path(__file__).resolve().parent.parent / "docs" / "status-page.md"


def kinds(value: object) -> object:
    """A JSON value's shape: keys and kinds, lists as the shape of their first item."""
    if isinstance(value, dict):
        return {key: kinds(item) for key, item in value.items()}
    if isinstance(value, list):
        return [kinds(value[0])] if value else []
    if isinstance(value, bool) or value is None:
        return type(value).__name__
    return "number" if isinstance(value, int | float) else "text"


def same_shape(doc: object, real: object, path: str = "$") -> None:
    if isinstance(doc, dict):
        assert isinstance(real, dict) and set(doc) == set(real), f"{path}: {sorted(doc)} != {sorted(real)}"
        for key in doc:
            same_shape(doc[key], real[key], f"{path}.{key}")
    elif isinstance(doc, list):
        if doc and real:
            same_shape(doc[0], real[0], f"{path}[0]")
    elif "NoneType" not in (doc, real):
        assert doc == real, f"{path}: the doc shows {doc}, the answer has {real}"


@pytest.mark.django_db
def test_the_json_example_has_a_real_answers_shape(client: Client) -> None:
    cache.clear()
    example = json.loads(re.search(r"^```json\n(.*?)^```", DOC.read_text(), re.M | re.S).group(1))
    with time_machine.travel(NOW, tick=False):
        page = make_status_page(show_figures=True, description="How our shop is doing.")
        incident = StatusIncident.objects.create(page=page, title="Card payments failing", state="identified")
        StatusUpdate.objects.create(incident=incident, state="identified", body="A card provider is failing.")
        StatusPage.objects.filter(id=page.id).update(updated=NOW - timedelta(minutes=1))
        real = client.get("/status/acme.json").json()
    real["past_incidents"] = []  # the doc shows none; an active one has the same shape
    same_shape(kinds(example), kinds(real))
    assert example["uptime_definition"] == real["uptime_definition"]
