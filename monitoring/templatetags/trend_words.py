"""How a trend's changes read: "+12 %", "−3.4 points", "2× the calls"."""

from __future__ import annotations

from django import template

register = template.Library()
MINUS = "\u2212"


def signed(value: float, digits: int) -> str:
    text = f"{abs(value):.{digits}f}"
    if float(text) == 0:
        return "±0"
    return ("+" if value > 0 else MINUS) + text


@register.filter
def relative(value: float | None) -> str:
    """A relative change, 0.12 -> "+12 %"; "–" when there is nothing to compare with."""
    if value is None:
        return "–"
    return f"{signed(value * 100, 0 if abs(value) >= 0.1 else 1)} %"


@register.filter
def points(value: float | None) -> str:
    """The difference of two rates, 0.012 -> "+1.2 points"."""
    return "–" if value is None else f"{signed(value * 100, 1)} points"


@register.filter
def direction(value: float | None, worse_when: str = "up") -> str:
    """worse or better (a CSS class) for a change, as the figure goes: p95 and errors up are worse."""
    if not value:
        return "same"
    return "worse" if (value > 0) == (worse_when == "up") else "better"


@register.filter
def step_words(seconds: int) -> str:
    """3600 -> "1-hour", 300 -> "5-minute": what availability counts."""
    if seconds % 86400 == 0:
        return f"{seconds // 86400}-day"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}-hour"
    return f"{seconds // 60}-minute"
