"""Lists a page at a time: what read layers return (Rows) and how the API pages them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination

MAX_LIMIT = 500
# Far past any real list, and small enough that OFFSET stays a valid bigint: a larger
# offset is refused (422) instead of reaching the database.
MAX_OFFSET = 10**9


class Rows:
    """A queryset as the dicts a read layer shows: sliced in the database, then shown one page
    at a time (show takes the page's objects, so it can fetch what they need in bulk)."""

    def __init__(self, queryset: QuerySet, show: Callable[[list], list[dict]]) -> None:
        self.queryset = queryset
        self.show = show

    def __getitem__(self, page: slice) -> list[dict]:
        return self.show(list(self.queryset[page]))

    def __len__(self) -> int:
        return self.queryset.count()


class Page(Protocol):
    """What an operation under @paginate returns: a list, Rows, or anything sliced and sized alike."""

    def __getitem__(self, page: slice) -> list[dict]: ...

    def __len__(self) -> int: ...


class Pagination(LimitOffsetPagination):
    """?limit=&offset=, answered {"items": [...], "count": n}; an operation returns Rows or a list."""

    class Input(Schema):
        limit: int = Field(100, ge=1, le=MAX_LIMIT)
        offset: int = Field(0, ge=0, le=MAX_OFFSET)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(max_limit=MAX_LIMIT, **kwargs)

    def paginate_queryset(self, queryset: Page, pagination: Input, request: HttpRequest, **params: object) -> dict:
        end = pagination.offset + pagination.limit
        return {"items": queryset[pagination.offset : end], "count": len(queryset)}


class ShortPagination(Pagination):
    """Alerts, rules, channels, silences and deliveries: 50 a page unless asked."""

    class Input(Pagination.Input):
        limit: int = Field(50, ge=1, le=MAX_LIMIT)
