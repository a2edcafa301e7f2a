"""What the API takes from a client, for every app's request bodies and query filters.

PostgreSQL stores no NUL character (in text or in jsonb), and a lone surrogate cannot
even be encoded to UTF-8: either one reached the database as a 500. JSON has no NaN or
Infinity, but Python's parser reads them: stored, they were served back as invalid JSON.
So text, numbers and dates are checked here, where the request comes in, and refused with
a 422 that names the field.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.fields import FieldInfo

from .errors import InputError

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = "must not contain NUL or lone surrogate characters"
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)


def storable(value: str) -> str:
    if UNSTORABLE.search(value):
        raise ValueError(UNSTORABLE_MESSAGE)
    return value


def not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def written_as_number(value: object) -> object:
    # Lax parsing would read "5" and true as numbers; 5.0 is a whole number in JSON, and kept.
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    if isinstance(value, str):
        raise ValueError("must be a number, not a string")
    return value


def written_as_text(value: object) -> object:
    # Lax parsing would read a number as seconds since 1970: a date is written as text.
    if not isinstance(value, str | datetime):
        raise ValueError("must be an ISO 8601 date and time with an offset, e.g. 2026-11-23T02:00:00Z")
    return value


def in_range(value: datetime) -> datetime:
    """In UTC, and far enough from the ends of the calendar that adding a year cannot overflow."""
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None
    if not EARLIEST <= value < LATEST:
        raise ValueError("must be between 1970 and 9000")
    return value


# The same rules for the OpenAPI document, so clients (and generated tests) know them.
TEXT_PATTERN = "^[^\\u0000]*$"
NAME_PATTERN = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"

# Text PostgreSQL can store: every string of a body or a query filter.
Text = Annotated[str, Field(json_schema_extra={"pattern": TEXT_PATTERN}), AfterValidator(storable)]
# A name: text that is more than spaces (lengths are given per field).
Name = Annotated[
    str,
    Field(min_length=1, json_schema_extra={"pattern": NAME_PATTERN}),
    AfterValidator(storable),
    AfterValidator(not_blank),
]
# Body numbers are JSON numbers: "5" and true are refused, as at ingest; NaN and Infinity too.
Whole = Annotated[int, BeforeValidator(written_as_number)]
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Flag = Annotated[bool, Field(strict=True)]
# A row's id given in a body: within the databases' integers (SQLite cannot even compare past them).
Id = Annotated[int, BeforeValidator(written_as_number), Field(ge=1, le=2**63 - 1)]
Moment = Annotated[AwareDatetime, BeforeValidator(written_as_text), AfterValidator(in_range)]


class Body(BaseModel):
    """A request body. Unknown fields are refused, so a typo is caught rather than ignored (as
    at ingest); a plain pydantic model, as ninja.Schema would read a JSON list as an object."""

    model_config = ConfigDict(extra="forbid")


def example(body: dict) -> ConfigDict:
    """A body's model_config with an example: shown in /api/docs, and tried first by tests
    generated from the OpenAPI document."""
    return ConfigDict(json_schema_extra={"examples": [body]})


def _left_out() -> None:
    return None


def unchanged(**constraints: object) -> FieldInfo:
    """A PATCH field: left out, the value stays as it is; null only where its type allows it
    (`name: Name = unchanged(max_length=200)` refuses null, `x: Number | None` takes it).
    A default factory, so the OpenAPI document shows no `"default": null` for a field that
    cannot be null."""
    return Field(default_factory=_left_out, **constraints)


def check_json(value: object, path: str) -> None:
    """Free-form JSON (a channel's config): raise InputError at the first string PostgreSQL
    cannot store or the first number that is not finite, e.g. at `config.to[1]`."""
    if isinstance(value, str) and UNSTORABLE.search(value):
        raise InputError(path, UNSTORABLE_MESSAGE)
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(path, "must be a finite number")
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        if isinstance(key, str) and UNSTORABLE.search(key):
            raise InputError(path, f"a key {UNSTORABLE_MESSAGE}")
        check_json(item, f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}")
