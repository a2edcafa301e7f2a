"""Formatting for the dashboard pages and their fragments (the one place figures are worded)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


@register.filter
def ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"


@register.filter
def label(value: str | None) -> str:
    return "none" if not value else value.replace("_", "-")


@register.simple_tag
def badge(value: str | None, text: str = "") -> str:
    return format_html('<span class="badge {}">{}</span>', value or "none", text or label(value))


@register.simple_tag
def strip(outcomes: list[str]) -> str:
    """The last outcomes, oldest first, as a row of coloured ticks."""
    return format_html(
        '<span class="strip" aria-label="last {} outcomes: {}">{}</span>',
        len(outcomes),
        ", ".join(outcomes) or "none",
        mark_safe("".join(tick(outcome) for outcome in outcomes)),  # each tick escaped by tick()
    )


@lru_cache(maxsize=16)
def tick(outcome: str) -> str:
    # Four outcomes, twenty ticks a row, two hundred rows a table: escaping each tick anew
    # was half of rendering the functions table.
    return format_html('<i class="{}" title="{}"></i>', outcome, outcome)


@register.simple_tag
def when(value: datetime | None) -> str:
    """A <time> element: UTC in the markup, the viewer's zone once static/js/time.js ran."""
    if value is None:
        return mark_safe('<span class="muted">never</span>')
    return format_html('<time datetime="{}">{}</time>', value.isoformat(), value.strftime("%Y-%m-%d %H:%M:%S UTC"))


@register.simple_tag
def fleet(breaker: dict) -> str:
    """ "open on 3 of 5 instances since <time>"."""
    state = breaker["state"]
    if state is None:
        return "no breaker reported"
    return format_html(
        "{} on {} of {} instances since {}", label(state), breaker[state], breaker["instances"], when(breaker["since"])
    )
