"""Statistical honesty: how many observations a number rests on, and whether a change is real.

A weekly report once led with "open backlog −55.6 % (9 → 4)", said "prevalence fell 7.4 pt"
on 19 items and coloured "auto-action precision 0.0 %" red on 2 audits. The rules here are
what every report sentence and status colour now passes through:

* :func:`sample_size` — the n behind a metric (a ratio's denominator, a percentile's count).
* :func:`change_test` — a change is an increase or a decrease only when a test says so at
  ``level``: the two-proportion z-test (pooled) for shares of counts, the exact conditional
  Poisson test (Przyborowski & Wilenski 1940: given ``x1 + x2``, ``x1`` is binomial with
  ``p = t1 / (t1 + t2)``) for counts over exposures (events in a period, events per hour,
  snapshot counts with equal exposure). Metrics without a test (medians, coefficients,
  costs) are never called up or down.
* :func:`status_allowed` — no status colour when n is below the minimum (default 30) or the
  95 % interval contains the target, where the data cannot tell which side it is on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from .metrics import Metric

DEFAULT_MIN_N = 30
DEFAULT_LEVEL = 0.05
# counts over the whole period (exposure = the period's elapsed hours)
PERIOD_COUNTS = {"tasks_finalized", "items_finalized", "annotations"}
# counts at one instant: two snapshots have equal exposure
SNAPSHOT_COUNTS = {"backlog_open", "backlog_age_lt_1h", "backlog_age_1_4h",
                   "backlog_age_4_24h", "backlog_age_1_3d", "backlog_age_gt_3d"}
# events per unit of time: numerator = events, denominator = the exposure
RATES = {"throughput_per_hour", "throughput_per_day", "arrivals_per_hour"}


def _is_count(x: float | None) -> bool:
    return x is not None and x >= 0 and float(x).is_integer()


def is_proportion(m: Metric) -> bool:
    """A share of counts (k of n), so a binomial model holds."""
    return (m.unit == "share" and _is_count(m.numerator) and _is_count(m.denominator)
            and (m.denominator or 0) > 0 and (m.numerator or 0) <= (m.denominator or 0))


def sample_size(m: Metric) -> float | None:
    """The n a metric rests on: a share's denominator, a percentile's or coefficient's count,
    the items behind a per-item figure; None for counts and totals (their n is themselves)."""
    if m.name in PERIOD_COUNTS or m.name in SNAPSHOT_COUNTS or m.name in RATES:
        return None
    return m.denominator


@dataclass(frozen=True)
class ChangeTest:
    test: Literal["two_proportion", "poisson_rate"]
    p_value: float
    level: float
    n_current: float
    n_previous: float

    @property
    def significant(self) -> bool:
        return self.p_value < self.level


def two_proportion_p(x1: float, n1: float, x2: float, n2: float) -> float:
    """Two-sided p of the pooled two-proportion z-test of ``x1/n1`` vs ``x2/n2``."""
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = (x1 / n1 - x2 / n2) / se
    return math.erfc(abs(z) / math.sqrt(2))


def poisson_rate_p(x1: float, t1: float, x2: float, t2: float) -> float:
    """Two-sided exact conditional test of equal Poisson rates ``x1/t1`` vs ``x2/t2``."""
    n = round(x1 + x2)
    if n == 0:
        return 1.0
    from scipy.stats import binomtest  # ~100 MB: loaded when a test runs, not at start

    return float(binomtest(round(x1), n, t1 / (t1 + t2)).pvalue)


def change_test(current: Metric, previous: Metric, current_hours: float,
                previous_hours: float, level: float = DEFAULT_LEVEL) -> ChangeTest | None:
    """The test for ``previous → current`` of one metric, or None when it has none."""
    name = current.name
    if is_proportion(current) and is_proportion(previous):
        x1, n1 = float(current.numerator or 0), float(current.denominator or 0)
        x2, n2 = float(previous.numerator or 0), float(previous.denominator or 0)
        return ChangeTest("two_proportion", two_proportion_p(x1, n1, x2, n2), level, n1, n2)
    if name in RATES:  # events over their exposure
        counts = (current.numerator, previous.numerator)
        exposure = (current.denominator or 0.0, previous.denominator or 0.0)
    elif name in SNAPSHOT_COUNTS:
        counts, exposure = (current.value, previous.value), (1.0, 1.0)
    elif name in PERIOD_COUNTS:
        counts, exposure = (current.value, previous.value), (current_hours, previous_hours)
    else:
        return None
    return _poisson(counts, exposure, level)


def _poisson(counts: tuple[float | None, float | None], exposure: tuple[float, float],
             level: float) -> ChangeTest | None:
    x1, x2 = counts
    t1, t2 = exposure
    if x1 is None or x2 is None or not (_is_count(x1) and _is_count(x2)) or t1 <= 0 or t2 <= 0:
        return None
    return ChangeTest("poisson_rate", poisson_rate_p(x1, t1, x2, t2), level, float(x1),
                      float(x2))


def status_allowed(m: Metric, green: float, min_n: int = DEFAULT_MIN_N) -> bool:
    """Whether a status colour may be shown: enough observations, and (with an interval)
    the target outside the 95 % interval."""
    if m.value is None:
        return False
    n = sample_size(m)
    if n is not None and n < min_n:
        return False
    if m.interval is not None:
        lo, hi = m.interval
        if lo <= green <= hi:
            return False
    return True
