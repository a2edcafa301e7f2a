"""Error budgets and burn rates: the pure arithmetic of an SLO (docs/slos.md).

- The error budget is the share of calls allowed to be bad: 1 - target (99.9 % -> 0.001).
- A window's burn rate is its share of bad calls over the budget: 1 spends the budget
  exactly by the end of the SLO window, 14.4 spends a 30-day budget's 2 % in one hour.
- A burn-rate alert watches a long window and a short one: it fires when both burn at or
  over its rate (the long one says enough budget went, the short one that it still goes),
  holds while either does, and clears when both are under it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Counts:
    """Calls in a window, and how many of them met the objective."""

    good: int = 0
    total: int = 0

    @property
    def bad(self) -> int:
        return self.total - self.good


@dataclass(frozen=True)
class BurnAlert:
    """One pair of windows and the burn rate both must reach."""

    name: str
    long: timedelta
    short: timedelta
    burn_rate: float
    severity: str

    @classmethod
    def from_dict(cls, data: dict) -> BurnAlert:
        return cls(
            name=data["name"],
            long=timedelta(minutes=data["long_minutes"]),
            short=timedelta(minutes=data["short_minutes"]),
            burn_rate=float(data["burn_rate"]),
            severity=data["severity"],
        )

    def budget_share(self, window: timedelta) -> float:
        """The share of the whole window's budget this alert's rate spends in its long window."""
        return self.burn_rate * (self.long / window)


def error_budget(target_percent: float) -> float:
    """The share of calls allowed to be bad."""
    return 1 - target_percent / 100


def burn_rate(counts: Counts, target_percent: float) -> float | None:
    """How fast the window spends the budget (1: exactly by the end); None without calls."""
    if not counts.total:
        return None
    return (counts.bad / counts.total) / error_budget(target_percent)


def budget_left(counts: Counts, target_percent: float) -> float:
    """The share of the SLO window's budget not yet spent (negative once overspent).

    The budget is the bad calls the window's own traffic may have: (1 - target) x total.
    """
    burn = burn_rate(counts, target_percent)
    return 1.0 if burn is None else 1 - burn


def spent(burn: float, alert_window: timedelta, slo_window: timedelta) -> float:
    """The share of the SLO window's budget a burn rate spends over alert_window."""
    return burn * (alert_window / slo_window)


@dataclass(frozen=True)
class Reading:
    """One burn-rate alert's two windows, as read now."""

    alert: BurnAlert
    long_burn: float | None
    short_burn: float | None

    def over(self, burn: float | None) -> bool:
        return burn is not None and burn >= self.alert.burn_rate

    @property
    def breaching(self) -> bool:
        """Both windows at or over the rate: fire."""
        return self.over(self.long_burn) and self.over(self.short_burn)

    @property
    def clear(self) -> bool:
        """Both windows under the rate (or without calls): an open alert resolves."""
        return not self.over(self.long_burn) and not self.over(self.short_burn)


def hours_or_minutes(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes % (24 * 60) == 0 and minutes >= 2 * 24 * 60:
        return f"{minutes // (24 * 60)} days"
    if minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min"


def percent(share: float) -> str:
    """0.02 -> "2", 0.0286 -> "2.9": a share as a short percentage figure."""
    value = share * 100
    return f"{value:.0f}" if abs(value - round(value)) < 0.05 or abs(value) >= 10 else f"{value:.1f}"


def summary(reading: Reading, slo_window: timedelta) -> str:
    """What the alert says: "burning 14.4x: 2 % of the 30-day budget in 1 h"."""
    burn = reading.long_burn or 0.0
    share = spent(burn, reading.alert.long, slo_window)
    days = int(slo_window / timedelta(days=1))
    return f"burning {burn:.3g}x: {percent(share)} % of the {days}-day budget in {hours_or_minutes(reading.alert.long)}"
