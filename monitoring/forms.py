"""Page forms that validate like the API: a form's fields are parsed into the API's own input
schema, and the action both call raises the same InputError naming the field."""

from __future__ import annotations

from typing import TypeVar

from django.http import QueryDict
from pydantic import BaseModel, ValidationError

from .errors import InputError

Schema = TypeVar("Schema", bound=BaseModel)


def form_values(data: QueryDict, lists: tuple[str, ...] = (), checkboxes: tuple[str, ...] = ()) -> dict:
    """A form's values as the API would get them in JSON.

    An empty field is left out (the schema's default applies); `lists` are multi-valued
    fields (a select with several choices); `checkboxes` are true when sent, false when not.
    """
    values: dict[str, object] = {}
    for name in data:
        if name == "csrfmiddlewaretoken" or name in checkboxes:
            continue
        if name in lists:
            values[name] = [v for v in data.getlist(name) if v != ""]
        elif data[name].strip() != "":
            values[name] = data[name].strip()
    for name in lists:
        values.setdefault(name, [])
    for name in checkboxes:
        values[name] = name in data
    return values


def field_errors(error: ValidationError | InputError) -> dict[str, str]:
    """The first message for each bad field, keyed by the field's name ("" when none is named)."""
    if isinstance(error, InputError):
        return {error.field: error.message}
    out: dict[str, str] = {}
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else ""
        out.setdefault(field, problem["msg"])
    return out


def parse(schema: type[Schema], values: dict) -> tuple[Schema | None, dict[str, str]]:
    """(the parsed input, {}) or (None, the errors by field)."""
    try:
        return schema.model_validate(values), {}
    except ValidationError as error:
        return None, field_errors(error)
