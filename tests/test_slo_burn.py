"""The arithmetic of error budgets and burn rates (alerts/burn.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alerts import burn
from alerts.burn import BurnAlert, Counts, Reading
from alerts.models import default_burn_alerts

DAYS_30 = timedelta(days=30)
FAST, MEDIUM, SLOW = (BurnAlert.from_dict(a) for a in default_burn_alerts())


def test_it_reads_the_error_budget_from_the_target() -> None:
    assert burn.error_budget(99.9) == pytest.approx(0.001)
    assert burn.error_budget(99) == pytest.approx(0.01)


def test_it_reads_the_burn_rate_as_bad_share_over_budget() -> None:
    assert burn.burn_rate(Counts(good=980, total=1000), 99.9) == pytest.approx(20)
    assert burn.burn_rate(Counts(good=999, total=1000), 99.9) == pytest.approx(1)
    assert burn.burn_rate(Counts(), 99.9) is None


def test_it_reads_the_budget_left_and_overspent() -> None:
    assert burn.budget_left(Counts(good=9_996, total=10_000), 99.9) == pytest.approx(0.6)
    assert burn.budget_left(Counts(good=9_980, total=10_000), 99.9) == pytest.approx(-1)
    assert burn.budget_left(Counts(), 99.9) == 1.0


def test_the_defaults_spend_2_5_and_10_percent_of_a_30_day_budget() -> None:
    assert FAST.budget_share(DAYS_30) == pytest.approx(0.02)
    assert MEDIUM.budget_share(DAYS_30) == pytest.approx(0.05)
    assert SLOW.budget_share(DAYS_30) == pytest.approx(0.10)
    assert (FAST.long, FAST.short, MEDIUM.long, MEDIUM.short) == (
        timedelta(hours=1),
        timedelta(minutes=5),
        timedelta(hours=6),
        timedelta(minutes=30),
    )
    assert (SLOW.long, SLOW.short, SLOW.severity, FAST.severity) == (
        timedelta(days=3),
        timedelta(hours=6),
        "medium",
        "critical",
    )


def test_a_pair_fires_only_when_both_windows_burn() -> None:
    assert Reading(FAST, 20, 20).breaching
    assert not Reading(FAST, 20, 3).breaching  # the burn stopped: no page
    assert not Reading(FAST, 3, 20).breaching  # a short spike: too little budget went
    assert Reading(FAST, 14.4, 14.4).breaching
    assert not Reading(FAST, None, 20).breaching


def test_a_pair_clears_only_when_both_windows_are_under() -> None:
    assert Reading(FAST, 3, 2).clear
    assert Reading(FAST, None, None).clear
    assert not Reading(FAST, 20, 3).clear
    assert not Reading(FAST, 3, 20).clear


def test_the_summary_says_how_much_of_the_budget_went() -> None:
    assert burn.summary(Reading(FAST, 14.4, 15), DAYS_30) == "burning 14.4x: 2 % of the 30-day budget in 1 h"
    assert burn.summary(Reading(FAST, 20, 20), DAYS_30) == "burning 20x: 2.8 % of the 30-day budget in 1 h"
    assert burn.summary(Reading(SLOW, 2, 2), DAYS_30) == "burning 2x: 20 % of the 30-day budget in 3 days"
    assert burn.summary(Reading(MEDIUM, 6, 6), timedelta(days=7)) == "burning 6x: 21 % of the 7-day budget in 6 h"
