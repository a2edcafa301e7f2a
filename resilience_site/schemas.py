"""Schemas of the endpoints that compose the apps: ingest answers and the monitor's status."""

from __future__ import annotations

from ninja import Schema


class Accepted(Schema):
    calls: int
    breakers: int
    concurrency: int
    queues: int


class IngestAnswer(Schema):
    accepted: Accepted
    duplicate: bool


class ValidAnswer(Schema):
    valid: bool
    items: Accepted


class PartStatus(Schema):
    ok: bool | None
    detail: str


class StatusOut(Schema):
    database: PartStatus
    redis: PartStatus
    worker: PartStatus
    scheduler: PartStatus
