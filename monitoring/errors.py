"""What an operation raises when the input cannot be used; the API answers it in its one error
shape, naming the field (resilience_site/errors.py)."""

from __future__ import annotations


class InputError(Exception):
    status = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
