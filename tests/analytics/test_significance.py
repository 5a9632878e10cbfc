"""Statistical honesty rules, each against a value computed by hand."""

from __future__ import annotations

import math
from datetime import datetime

import pytest

from modops.analytics import Metric, Period
from modops.analytics.significance import (
    change_test,
    poisson_rate_p,
    sample_size,
    status_allowed,
    two_proportion_p,
)


def m(name: str, value: float | None, num: float | None = None, den: float | None = None,
      unit: str = "share", interval: tuple[float, float] | None = None) -> Metric:
    return Metric(name, value, num, den, interval, unit)


def test_poisson_rate_test_by_hand() -> None:
    # backlog 9 → 4 at equal exposure: given 13, X ~ Bin(13, ½);
    # p = 2 · (C(13,9) + C(13,10) + C(13,11) + C(13,12) + C(13,13)) / 2¹³ = 2 · 1093 / 8192
    assert poisson_rate_p(9, 1, 4, 1) == pytest.approx(2 * 1093 / 8192)
    t = change_test(m("backlog_open", 4, unit="tasks"), m("backlog_open", 9, unit="tasks"),
                    168, 168)
    assert t is not None and t.test == "poisson_rate" and not t.significant
    # 60 vs 30 at equal exposure: p = 2·P(Bin(90, ½) ≥ 60) ≈ 0.0022 — a real increase
    big = change_test(m("items_finalized", 60, unit="items"),
                      m("items_finalized", 30, unit="items"), 24, 24)
    assert big is not None and big.significant and big.p_value == pytest.approx(
        2 * sum(math.comb(90, k) for k in range(60, 91)) / 2**90)


def test_partial_period_counts_use_their_exposure() -> None:
    # 2.5 days with 30 items against a full week of 84 is the same rate (12/day): no change
    t = change_test(m("items_finalized", 30, unit="items"),
                    m("items_finalized", 84, unit="items"), 60, 168)
    assert t is not None and t.p_value == pytest.approx(1.0, abs=0.02)


def test_two_proportion_test_by_hand() -> None:
    # 45/50 vs 30/50: pooled 0.75, se = √(0.75·0.25·(2/50)) = 0.08660, z = 0.3/se = 3.4641
    assert two_proportion_p(45, 50, 30, 50) == pytest.approx(math.erfc(3.4641016 / math.sqrt(2)))
    t = change_test(m("sla_attainment", 0.9, 45, 50), m("sla_attainment", 0.6, 30, 50), 1, 1)
    assert t is not None and t.test == "two_proportion" and t.significant
    assert (t.n_current, t.n_previous) == (50, 50)
    # prevalence 2/19 vs 3/17 (the "fell 7.4 pt on 19 items" case): nowhere near significant
    small = change_test(m("prevalence", 2 / 19, 2, 19), m("prevalence", 3 / 17, 3, 17), 1, 1)
    assert small is not None and not small.significant


def test_metrics_without_a_test_are_never_called_up_or_down() -> None:
    assert change_test(m("handle_time_median_s", 50, den=400, unit="seconds"),
                       m("handle_time_median_s", 90, den=400, unit="seconds"), 1, 1) is None
    assert change_test(m("krippendorff_alpha", 0.5, den=99, unit="coefficient"),
                       m("krippendorff_alpha", 0.9, den=99, unit="coefficient"), 1, 1) is None
    # utilization is hours over hours, not a share of counts
    assert change_test(m("utilization", 0.5, 3.5, 7.0), m("utilization", 0.2, 1.4, 7.0),
                       1, 1) is None


def test_status_needs_n_and_an_interval_clear_of_the_target() -> None:
    # auto-action precision 0/2: n = 2 < 30 → no colour
    assert sample_size(m("auto_action_precision", 0.0, 0, 2)) == 2
    assert not status_allowed(m("auto_action_precision", 0.0, 0, 2, interval=(0, 0.66)), 0.95)
    # 95/100 with Wilson (0.888, 0.978) holds a 0.95 target: inconclusive
    assert not status_allowed(m("sla_attainment", 0.95, 95, 100, interval=(0.888, 0.978)),
                              0.95)
    # 480/500 = 0.96, interval (0.939, 0.974), target 0.90: clear
    assert status_allowed(m("sla_attainment", 0.96, 480, 500, interval=(0.939, 0.974)), 0.90)
    assert not status_allowed(m("sla_attainment", 0.96, 29, 30), 0.5, min_n=31)


def test_a_partial_period_is_compared_with_the_same_elapsed_window() -> None:
    week = Period.parse("2026-W48")  # Mon 11-23 … Mon 11-30
    as_of = datetime(2026, 11, 25, 12)  # 2.5 days in
    assert week.is_partial(as_of) and not week.is_partial(week.end)
    prev = week.same_elapsed(week.previous(), as_of)
    assert (prev.start, prev.end) == (datetime(2026, 11, 16), datetime(2026, 11, 18, 12))
    assert prev.label == "2026-W47 (first 60 h)"
