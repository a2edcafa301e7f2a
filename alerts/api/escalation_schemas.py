"""The escalation endpoints' shapes: PolicyIn (create and replace, also what the page form
parses into), PolicyPatch, PolicyOut, and a person's notification address."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import Field

from alerts.api.schemas import ProjectSlug
from monitoring.inputs import Body, Id, Name, Text, Whole, example, unchanged

LONGEST_WAIT_MINUTES = 7 * 24 * 60
MOST_STEPS = 20
MOST_REPEATS = 10


class StepIn(Body):
    wait_minutes: Whole = Field(..., ge=1, le=LONGEST_WAIT_MINUTES)
    channels: list[Id] = []
    people: list[Id] = Field([], description="user ids: each is reached at their notification address")


class PolicyIn(Body):
    model_config = example(
        {
            "name": "Payments on-call",
            "description": "the primary, then the secondary and the team lead",
            "repeat": 1,
            "steps": [{"wait_minutes": 10, "channels": [], "people": []}],
            "services": [],
        }
    )

    name: Name = Field(..., max_length=200)
    description: Text = Field("", max_length=1000)
    repeat: Whole = Field(0, ge=0, le=MOST_REPEATS, description="how many more times the steps run after the last")
    steps: list[StepIn] = Field(..., min_length=1, max_length=MOST_STEPS)
    services: list[Id] = Field([], description="service ids whose incidents follow it when their rule names no policy")
    project: ProjectSlug = None


class PolicyPatch(Body):
    """Fields left out stay as they are; `steps` given replaces them all."""

    model_config = example({"repeat": 2})

    name: Name = unchanged(max_length=200)
    description: Text = unchanged(max_length=1000)
    repeat: Whole = unchanged(ge=0, le=MOST_REPEATS)
    steps: list[StepIn] = unchanged(min_length=1, max_length=MOST_STEPS)
    services: list[Id] = unchanged()


class Ref(Schema):
    id: int
    name: str


class StepOut(Schema):
    position: int  # 1 for the first step
    wait_minutes: int
    channels: list[Ref]
    people: list[Ref]


class PolicyOut(Schema):
    id: int
    name: str
    description: str
    repeat: int
    steps: list[StepOut]
    services: list[Ref]
    rules: list[Ref]
    created: datetime
    updated: datetime
    project: str = Field(description="the slug of its project")


class AddressIn(Body):
    model_config = example({"email": "alice@example.org", "channel": None})

    email: Text = Field("", max_length=254)
    channel: Id | None = None


class AddressOut(Schema):
    user_id: int
    username: str
    email: str = Field(description='"" when none')
    channel: Ref | None
