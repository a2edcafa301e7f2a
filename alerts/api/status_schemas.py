"""What the status-page endpoints take and give (the admin pages parse their forms into the
same input schemas, so both refuse alike)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import Field

from alerts.api.schemas import ProjectSlug
from monitoring.inputs import Body, Flag, Id, Name, Text, Whole, example, unchanged

# Lower-case letters, digits and inner hyphens: it is the page's public URL.
SLUG_PATTERN = "^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$"
StateName = Literal["investigating", "identified", "monitoring", "resolved"]


class StatusPageIn(Body):
    model_config = example({"slug": "acme", "title": "Acme status", "description": "", "enabled": True})

    slug: str = Field(max_length=50, pattern=SLUG_PATTERN, description="the public URL: /status/<slug>/")
    title: Name = Field(max_length=100)
    description: Text = Field("", max_length=500)
    enabled: Flag = Field(True, description="off: the public URLs answer 404")
    show_figures: Flag = Field(False, description="also show each component's 90-day uptime and error rate")
    project: ProjectSlug = None


class StatusPagePatch(Body):
    """Fields left out stay as they are."""

    model_config = example({"title": "Acme status", "show_figures": True})

    slug: str = unchanged(max_length=50, pattern=SLUG_PATTERN)
    title: Name = unchanged(max_length=100)
    description: Text = unchanged(max_length=500)
    enabled: Flag = unchanged()
    show_figures: Flag = unchanged()


class ComponentIn(Body):
    model_config = example({"service": "payments", "function": None, "public_name": "Payments", "position": 0})

    service: Name = Field(max_length=100, description="a service's name")
    function: Name | None = Field(None, max_length=200, description="one of its functions; none: the whole service")
    public_name: Name = Field(max_length=100, description="what the public page calls it")
    position: Whole = Field(0, ge=-10_000, le=10_000, description="components are listed by position, then age")


class ComponentPatch(Body):
    model_config = example({"public_name": "Card payments", "position": 2})

    public_name: Name = unchanged(max_length=100)
    position: Whole = unchanged(ge=-10_000, le=10_000)


class StatusIncidentIn(Body):
    model_config = example(
        {"alert": None, "title": "Card payments failing", "state": "investigating", "message": "Looking into it."}
    )

    alert: Id | None = Field(None, description="an open or recent alert of one of the page's components")
    title: Name = Field(max_length=200, description="the public title")
    state: StateName = "investigating"
    message: Text = Field("", max_length=2000, description="the first update (none when empty)")


class StatusIncidentPatch(Body):
    model_config = example({"title": "Card payments slow"})

    title: Name = unchanged(max_length=200)


class UpdateIn(Body):
    model_config = example({"state": "identified", "body": "A database failover is under way."})

    state: StateName
    body: Name = Field(max_length=2000)


class ComponentOut(Schema):
    id: int
    service: str
    function: str | None
    public_name: str
    position: int


class StatusPageOut(Schema):
    id: int
    slug: str
    title: str
    description: str
    enabled: bool
    show_figures: bool
    url: str = Field(description="the public page's path")
    components: list[ComponentOut]
    created: datetime
    updated: datetime
    project: str = Field(description="the slug of its project")


class UpdateOut(Schema):
    id: int
    at: datetime
    state: str
    body: str
    author: str | None


class StatusIncidentOut(Schema):
    id: int
    alert: int | None
    title: str
    state: str
    started_at: datetime
    resolved_at: datetime | None
    updates: list[UpdateOut] = Field(description="newest first")
