"""Latent churn classes and the customer-base recursion (docs/model.md §1 and §5).

A segment's customers differ in how likely they are to leave. With ``monthly_churn``
everyone shares one hazard θ; with ``sbg`` the per-period churn probability is
Beta(α, β) across customers (Fader & Hardie's shifted-beta-geometric), represented
by ``K`` latent classes placed at the Gauss–Jacobi nodes of that Beta. The rule is
exact for every survival term ``(1-θ)^t`` with ``t ≤ 2K-1``, so a fresh cohort's
survival matches ``B(α, β+t)/B(α, β)`` far beyond the horizon. The rule is computed so that
it holds for any valid (α, β), from 5e-324 to 1.7e308 (:func:`beta_classes`): a Beta too
concentrated for float64 becomes the point it tends to, constant churn ``α/(α+β)``.

References
----------
Fader, P. S. and Hardie, B. G. S. (2007). How to project customer retention.
Journal of Interactive Marketing, 21(1), 76–90.
Golub, G. H. and Welsch, J. H. (1969). Calculation of Gauss quadrature rules.
Mathematics of Computation, 23, 221–230.
"""

from __future__ import annotations

import numpy as np
from scipy.special import roots_jacobi

from cxsim.scenario.schema import months_per_period

#: Above this α+β the classes come from the overflow-free Golub–Welsch rule, also for fixed
#: α and β (scipy's weights overflow near α+β ≈ 1,000); both rules agree to ~1e-13 there.
SCIPY_SIZE = 400.0
#: Below this α or β, too, the classes come from Golub–Welsch: scipy's rule loses accuracy
#: there (1e-12 on survival at α = 0.01) and refuses α − 1 that rounds to −1 (α = 1e-283).
SCIPY_LOW = 0.1
#: Above this α+β the Beta is a point for float64: its standard deviation is below 1e-10 of
#: its mean, so survival over any horizon differs from constant churn α/(α+β) by < 1e-13.
POINT_SIZE = 1e22


def beta_classes(
    alpha, beta, n_classes: int, *, batched: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Latent classes for Beta(α, β)-distributed churn probabilities.

    Parameters
    ----------
    alpha, beta : array_like, shape (draw,)
        Beta parameters per draw (both > 0).
    n_classes : int
        Number of classes ``K``.
    batched : bool
        Compute the rules of all distinct (α, β) together by the Golub–Welsch eigenvalue
        method (for uncertain α, β: one rule per draw) instead of scipy's rule pair by pair.
        The caller decides from the scenario, never from how many pairs a chunk of draws
        happens to hold, so a draw's classes do not depend on the chunking.

    Returns
    -------
    theta, weight : ndarray, shape (draw, K)
        Per-period churn probability of each class and its share of customers (rows sum to 1).

    Examples
    --------
    >>> theta, weight = beta_classes([0.7], [1.2], 16)
    >>> round(float((weight * theta).sum()), 6)   # E[θ] = α/(α+β)
    0.368421
    """
    alpha = np.atleast_1d(np.asarray(alpha, dtype=float))
    beta = np.atleast_1d(np.asarray(beta, dtype=float))
    alpha, beta = np.broadcast_arrays(alpha, beta)
    pairs, inverse = np.unique(np.stack([alpha, beta], axis=1), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    theta_u = np.empty((len(pairs), n_classes))
    weight_u = np.empty((len(pairs), n_classes))
    # α/(α+β) without forming α+β, which overflows for α and β near the float maximum.
    with np.errstate(over="ignore"):  # β/α = ∞ for a denormal α: mean churn 0
        mean = 1.0 / (1.0 + pairs[:, 1] / pairs[:, 0])
    size = pairs[:, 0] * 0.5 + pairs[:, 1] * 0.5  # (α+β)/2, finite for every finite pair
    point = size > POINT_SIZE / 2
    small = ~point & (size <= SCIPY_SIZE / 2) & (pairs.min(axis=1) >= SCIPY_LOW) & (not batched)
    rule = ~point & ~small
    # As α+β → ∞ the Beta collapses onto its mean: one churn rate for every customer.
    theta_u[point], weight_u[point] = mean[point, None], 1.0 / n_classes
    for row in np.flatnonzero(small):
        # NOTE: scipy's rule is the reference; used for fixed α and β of moderate size (its
        # weights carry 2^(α+β+1), which overflows beyond α+β ≈ 1,000).
        a, b = pairs[row]
        with np.errstate(invalid="ignore"):  # scipy's 0/0 at α+β = 1, which it then discards
            x, w = roots_jacobi(n_classes, b - 1.0, a - 1.0)
        theta_u[row] = (1.0 + x) / 2.0
        weight_u[row] = w / w.sum()
    if rule.any():
        theta_u[rule], weight_u[rule] = _golub_welsch_beta(
            pairs[rule, 0], pairs[rule, 1], n_classes
        )
    return theta_u[inverse], weight_u[inverse]


def _golub_welsch_beta(
    alpha: np.ndarray, beta: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Batched Gauss–Jacobi rule via eigenvalues of the Jacobi matrix, one rule per (α, β) row.

    Where scipy's rule is not used (α+β beyond :data:`SCIPY_SIZE`, α or β below
    :data:`SCIPY_LOW`) the recurrence coefficients are written as products of ratios of order
    one, with ``b − a = α − β`` and ``a + b + 2 = α + β`` taken from α and β themselves: nothing
    overflows however large α+β is (the textbook form squares α and β and cubes their sum),
    and nothing cancels however small α or β is (``α − 1`` rounds to −1 below 1e-16).
    """
    a = (beta - 1.0)[:, None]  # Jacobi exponent on (1 - x)
    b = (alpha - 1.0)[:, None]  # Jacobi exponent on (1 + x)
    k = np.arange(n, dtype=float)[None, :]
    s = 2.0 * k + a + b
    k1 = k[:, 1:]
    s1 = s[:, 1:]
    exact = ((alpha + beta > SCIPY_SIZE) | (np.minimum(alpha, beta) < SCIPY_LOW))[:, None]
    textbook = ~exact & (s1 - 1.0 != 0.0)
    b_minus_a = (alpha - beta)[:, None]
    a_plus_b = (alpha + beta)[:, None] - 2.0
    s_exact = 2.0 * (k - 1.0) + (alpha + beta)[:, None]  # = s, without α − 1 and β − 1
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # The textbook form (kept where it cannot overflow, for the same numbers as before)
        # and the same coefficients as products of ratios of order one.
        diag = np.where(
            textbook[:, :1],
            (b * b - a * a) / (s * (s + 2.0)),
            (b_minus_a / s_exact) * (a_plus_b / (s_exact + 2.0)),
        )
        # k + a = (k − 1) + β and so on, and s for k ≥ 1 from α+β: exact for tiny α, β.
        ka, kb = (k1 - 1.0) + beta[:, None], (k1 - 1.0) + alpha[:, None]
        kab, se = (k1 - 2.0) + (alpha + beta)[:, None], s_exact[:, 1:]
        # (k + a + b)/(s − 1) is 0/0 at k = 1 when α+β = 1; its limit there is 1.
        last = np.where(se - 1.0 == 0.0, 1.0, kab / (se - 1.0))
        off_squared = np.where(
            textbook,
            4.0 * k1 * (k1 + a) * (k1 + b) * (k1 + a + b) / (s1 * s1 * (s1 + 1.0) * (s1 - 1.0)),
            (ka / se) * (kb / se) * (4.0 * k1 / (se + 1.0)) * last,
        )
        # k = 0 with a + b = 0 is a removable singularity: the limit is (b - a)/(a + b + 2).
        diag[:, 0] = np.where(
            exact[:, 0],
            (alpha - beta) / (alpha + beta),
            (b[:, 0] - a[:, 0]) / (a[:, 0] + b[:, 0] + 2.0),
        )
    off = np.sqrt(off_squared)
    jacobi = np.zeros((len(alpha), n, n))
    idx = np.arange(n)
    jacobi[:, idx, idx] = diag
    jacobi[:, idx[1:], idx[:-1]] = off
    jacobi[:, idx[:-1], idx[1:]] = off
    nodes, vectors = np.linalg.eigh(jacobi)
    weight = vectors[:, 0, :] ** 2
    weight /= weight.sum(axis=1, keepdims=True)
    return np.clip((1.0 + nodes) / 2.0, 0.0, 1.0), weight


def monthly_from_period(theta: np.ndarray, period: str | int) -> np.ndarray:
    """Per-month churn probability of a class whose churn is given per ``period``.

    ``period`` is an ``sbg.period``: ``"month"``, ``"quarter"``, ``"year"`` or a whole number
    of months ``m``; a class keeps its survival at whole periods, ``1 − (1−θ)^(1/m)`` a month.
    """
    months = months_per_period(period)
    if months == 1:
        return theta
    with np.errstate(divide="ignore"):  # θ = 1 (everyone leaves each period): log1p(−1) = −∞
        return -np.expm1(np.log1p(-theta) / float(months))


def starting_mix(
    theta: np.ndarray, weight: np.ndarray, *, base_age=None, tenure=None
) -> np.ndarray:
    """Share of today's customers in each class (rows sum to 1).

    With ``tenure`` the base is one cohort of that age: ``π_k (1-θ_k)^tenure``.
    Otherwise it is what constant inflow over ``base_age`` months leaves behind:
    ``π_k (1 - (1-θ_k)^A)/θ_k`` (docs/model.md §1).

    Parameters
    ----------
    theta, weight : ndarray, shape (draw, K)
        Monthly churn per class and class shares of new customers.
    base_age, tenure : ndarray, shape (draw,)
    """
    if tenure is not None:
        mix = weight * (1.0 - theta) ** np.asarray(tenure)[:, None]
    else:
        age = np.asarray(base_age)[:, None]
        # (1 - (1-θ)^A)/θ, written to stay exact as θ → 0 (it tends to A).
        with np.errstate(divide="ignore", invalid="ignore"):
            stock = -np.expm1(age * np.log1p(-theta)) / theta
        stock = np.where(theta > 1e-12, stock, age)
        mix = weight * stock
    total = mix.sum(axis=1, keepdims=True)
    return np.divide(mix, total, out=np.zeros_like(mix), where=total > 0)


def survival(theta: np.ndarray, weight: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Share of a cohort (class mix ``weight``) still active after each of ``months``."""
    months = np.asarray(months, dtype=float)
    return (weight[..., None] * (1.0 - theta[..., None]) ** months).sum(axis=-2)
