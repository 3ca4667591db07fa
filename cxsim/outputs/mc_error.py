"""Monte Carlo standard errors: how precisely a run's draws estimate a statistic.

- a mean: ``sd / √n``;
- a quantile: distribution-free, from the binomial law of the rank of the order statistic
  that estimates it (the ranks ``n·q ± z·√(n·q(1−q))`` bracket the true quantile with
  probability of about the normal ``±z``; the half-width between those order statistics,
  divided by ``z``, is the standard error);
- a probability (a share of draws): ``√(p(1−p)/n)``.

References
----------
David, H. A. & Nagaraja, H. N. (2003). *Order Statistics*, 3rd ed., §7.1 (distribution-free
confidence intervals for quantiles).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["mean_se", "proportion_se", "quantile_se", "relative_precision"]

# The normal quantile of the rank bracket: ±1 standard error of the rank.
_Z = 1.0


def mean_se(values: np.ndarray) -> float:
    """Standard error of the mean of ``values`` (NaN with fewer than two values).

    Examples
    --------
    >>> round(mean_se(np.array([1.0, 2.0, 3.0, 4.0])), 4)
    0.6455
    """
    values = np.asarray(values, dtype=float)
    if values.size < 2:
        return math.nan
    return float(values.std(ddof=1) / math.sqrt(values.size))


def quantile_se(values: np.ndarray, q: float) -> float:
    """Standard error of the ``q`` quantile of ``values`` (NaN when too few draws to tell).

    Examples
    --------
    For a standard normal sample the asymptotic value is ``√(q(1−q)/n)/φ(z_q)``:

    >>> x = np.random.default_rng(1).standard_normal(100_000)
    >>> round(quantile_se(x, 0.5) / (math.sqrt(0.25 / 100_000) / 0.3989), 1)
    1.0
    """
    values = np.sort(np.asarray(values, dtype=float))
    n = values.size
    spread = _Z * math.sqrt(n * q * (1.0 - q))
    lo, hi = math.floor(n * q - spread), math.ceil(n * q + spread)
    if n < 2 or lo < 0 or hi > n - 1:
        return math.nan
    return float((values[hi] - values[lo]) / (2.0 * _Z))


def proportion_se(share: float, n: int) -> float:
    """Standard error of a share of ``n`` draws, ``√(p(1−p)/n)``.

    Examples
    --------
    >>> proportion_se(0.5, 100)
    0.05
    """
    return math.sqrt(share * (1.0 - share) / n) if n > 0 else math.nan


def relative_precision(values: np.ndarray) -> float:
    """The largest Monte Carlo error of the mean, p5 and p95, over the p5–p95 width.

    The precision rule of ``simulate(..., target_error=...)``: a run is precise to ``x``
    when this is at most ``x``. Infinite when the width is 0 or the errors are unknown.

    Examples
    --------
    >>> x = np.random.default_rng(2).standard_normal(40_000)
    >>> 0.002 < relative_precision(x) < 0.005
    True
    """
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if values.size < 2:
        return math.inf
    low, high = np.quantile(values, [0.05, 0.95])
    errors = [mean_se(values), quantile_se(values, 0.05), quantile_se(values, 0.95)]
    if not high > low or not all(math.isfinite(e) for e in errors):
        return math.inf
    return float(max(errors) / (high - low))
