"""Binomial proportion confidence intervals (gold accuracy, audit error rate, prevalence).

Both functions are vectorized: pass scalars for one interval or arrays for one per labeler.
Reference values for both methods: Newcombe (1998), "Two-sided confidence intervals for the
single proportion: comparison of seven methods", Statistics in Medicine 17(8), Table I.
"""

from __future__ import annotations

from typing import overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be in (0, 1)")
    from scipy.special import ndtri  # SciPy on first use, not in every server worker

    return float(ndtri(0.5 + confidence / 2.0))


def _check(successes: ArrayLike, n: ArrayLike) -> tuple[FloatArray, FloatArray]:
    x = np.asarray(successes, dtype=np.float64)
    m = np.asarray(n, dtype=np.float64)
    if np.any(x < 0) or np.any(x > m):
        raise ValueError("need 0 <= successes <= n")
    return x, m


@overload
def wilson_interval(successes: float, n: float, confidence: float = ...) -> tuple[float, float]: ...
@overload
def wilson_interval(
    successes: ArrayLike, n: ArrayLike, confidence: float = ...
) -> tuple[FloatArray, FloatArray]: ...
def wilson_interval(successes, n, confidence=0.95):  # type: ignore[no-untyped-def]
    """Wilson (1927) score interval for a binomial proportion, without continuity correction.

    Chosen over the Wald interval because it keeps sensible coverage for small ``n`` and for
    accuracies near 1 (a good labeler's gold accuracy), and never leaves [0, 1]
    (Newcombe 1998, method 3; Brown, Cai & DasGupta 2001). ``n == 0`` gives ``(nan, nan)``.
    """
    x, m = _check(successes, n)
    z = _z(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / m
        denom = 1.0 + z * z / m
        centre = (p + z * z / (2.0 * m)) / denom
        half = z * np.sqrt(p * (1.0 - p) / m + z * z / (4.0 * m * m)) / denom
        lo = np.clip(centre - half, 0.0, 1.0)
        hi = np.clip(centre + half, 0.0, 1.0)
    # exact endpoints at the boundaries (avoid -1e-17 style round-off)
    lo = np.where(x == 0, 0.0, lo)
    hi = np.where(x == m, 1.0, hi)
    lo = np.where(m == 0, np.nan, lo)
    hi = np.where(m == 0, np.nan, hi)
    if lo.ndim == 0:
        return float(lo), float(hi)
    return lo, hi


@overload
def clopper_pearson_interval(
    successes: int, n: int, confidence: float = ...
) -> tuple[float, float]: ...
@overload
def clopper_pearson_interval(
    successes: ArrayLike, n: ArrayLike, confidence: float = ...
) -> tuple[FloatArray, FloatArray]: ...
def clopper_pearson_interval(successes, n, confidence=0.95):  # type: ignore[no-untyped-def]
    """Clopper & Pearson (1934) "exact" interval from Beta quantiles.

    Guarantees at least nominal coverage (conservative); use it where an auditor needs a
    bound that is never optimistic, e.g. prevalence of a rare violation from a small sample.
    """
    x, m = _check(successes, n)
    a = (1.0 - confidence) / 2.0
    if not 0.0 < a < 0.5:
        raise ValueError("confidence must be in (0, 1)")
    from scipy.special import betaincinv

    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(x == 0, 0.0, betaincinv(x, m - x + 1.0, a))
        hi = np.where(x == m, 1.0, betaincinv(x + 1.0, m - x, 1.0 - a))
    lo = np.where(m == 0, np.nan, lo)
    hi = np.where(m == 0, np.nan, hi)
    if lo.ndim == 0:
        return float(lo), float(hi)
    return lo, hi
