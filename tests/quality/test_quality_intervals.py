"""Wilson and Clopper–Pearson intervals against published values and statsmodels."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from modops.quality import clopper_pearson_interval, wilson_interval

# Newcombe, R. G. (1998). Two-sided confidence intervals for the single proportion:
# comparison of seven methods. Statistics in Medicine 17(8), 857–872, Table I:
# (successes, n) → method 3 (Wilson score, no continuity correction) and
# method 5 (Clopper–Pearson "exact"), 95% limits to 4 decimals.
NEWCOMBE_1998 = [
    (81, 263, (0.2553, 0.3662), (0.2527, 0.3676)),
    (15, 148, (0.0624, 0.1605), (0.0578, 0.1617)),
    (0, 20, (0.0000, 0.1611), (0.0000, 0.1684)),
    (1, 29, (0.0061, 0.1718), (0.0009, 0.1776)),
]


@pytest.mark.parametrize(("x", "n", "wilson", "exact"), NEWCOMBE_1998)
def test_matches_newcombe_1998_table_1(x: int, n: int, wilson: tuple[float, float],
                                       exact: tuple[float, float]) -> None:
    lo, hi = wilson_interval(x, n)
    assert (round(lo, 4), round(hi, 4)) == wilson
    lo, hi = clopper_pearson_interval(x, n)
    assert (round(lo, 4), round(hi, 4)) == exact


def test_vectorized_and_equal_to_statsmodels() -> None:
    rng = np.random.default_rng(0)
    n = rng.integers(1, 500, 200)
    x = rng.integers(0, n + 1)
    for conf in (0.9, 0.95, 0.99):
        lo, hi = wilson_interval(x, n, conf)
        slo, shi = proportion_confint(x, n, alpha=1 - conf, method="wilson")
        np.testing.assert_allclose(lo, slo, atol=1e-12)
        np.testing.assert_allclose(hi, shi, atol=1e-12)
        lo, hi = clopper_pearson_interval(x, n, conf)
        slo, shi = proportion_confint(x, n, alpha=1 - conf, method="beta")
        np.testing.assert_allclose(lo, slo, atol=1e-10)
        np.testing.assert_allclose(hi, shi, atol=1e-10)


def test_edges() -> None:
    assert wilson_interval(5, 5)[1] == 1.0
    assert wilson_interval(0, 5)[0] == 0.0
    assert all(np.isnan(v) for v in wilson_interval(0, 0))
    assert all(np.isnan(v) for v in clopper_pearson_interval(0, 0))
    lo, hi = wilson_interval(np.array([0, 3]), np.array([0, 10]))
    assert np.isnan(lo[0]) and 0 < lo[1] < 0.3 < hi[1] < 1
    with pytest.raises(ValueError):
        wilson_interval(6, 5)
    with pytest.raises(ValueError):
        wilson_interval(1, 5, confidence=1.5)
