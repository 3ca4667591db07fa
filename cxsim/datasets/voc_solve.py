"""Respondent-level coefficients that reproduce a VoC truth exactly (for :mod:`.voc_truth`).

Each solver works on the exact distribution of gap patterns (:func:`pattern_distribution`) and
the definitions of docs/model.md §7, evaluated by the fit's own code
(:func:`cxsim.calibrate.voc_estimate.counterfactual`):

- churn, logistic in the gaps: the observed 12-month churn, the relative reduction of the mean
  monthly hazard when every gap is closed and the single-group hazard removals in proportion to
  the pain shares (:func:`solve_churn`);
- promoters and detractors, logistic (:func:`solve_response`) or linear in the gaps
  (:func:`solve_linear`): the "linear score law", probabilities that fall (promoters) or rise
  (detractors) by fixed amounts per gap, clipped to [0, 1];
- the spend multiplier, log-linear (:func:`solve_response` with the log link).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize
from scipy.special import expit, logit

from cxsim.calibrate.voc_estimate import counterfactual

__all__ = [
    "MAX_EXACT_GROUPS",
    "pattern_distribution",
    "solve_churn",
    "solve_linear",
    "solve_response",
]

#: Patterns are enumerated exactly up to this many groups with a non-zero pain share (2**15
#: patterns); above it a fixed sample of as many patterns (seed ``_PATTERN_SEED``) stands in for
#: the population, so the truth holds on that sample (about 0.5% relative off the population).
MAX_EXACT_GROUPS = 15
_PATTERN_SAMPLE = 1 << MAX_EXACT_GROUPS
_PATTERN_SEED = 20_240_601


def pattern_distribution(prevalence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gap patterns and their probabilities for independent Bernoulli gaps.

    Exact enumeration of the ``2**G`` patterns when ``G <= MAX_EXACT_GROUPS``; otherwise a fixed
    sample of ``2**15`` patterns with equal weights (always the same sample).

    Returns
    -------
    x : ndarray, shape (K, G)
        0/1 patterns.
    weight : ndarray, shape (K,)
        Probabilities (sum to 1).
    """
    q = np.asarray(prevalence, dtype=float)
    g = len(q)
    if g <= MAX_EXACT_GROUPS:
        codes = np.arange(1 << g)
        x = ((codes[:, None] >> np.arange(g)) & 1).astype(float)
        weight = np.prod(np.where(x == 1, q, 1 - q), axis=1)
        return x, weight
    rng = np.random.default_rng(_PATTERN_SEED)
    x = (rng.random((_PATTERN_SAMPLE, g)) < q).astype(float)
    return x, np.full(_PATTERN_SAMPLE, 1 / _PATTERN_SAMPLE)


def solve_response(
    name: str,
    link_inv,
    link,
    target0: float,
    target_obs: float,
    q: np.ndarray,
    share: np.ndarray,
    what: str,
) -> np.ndarray:
    """Coefficients with ``f(b0) = target0``, ``E f(b0 + x@b) = target_obs`` and the
    single-group removals ``E f(η) − E f(η without g)`` in proportion to ``share``."""
    beta = np.zeros(1 + len(q))
    beta[0] = link(target0)
    active = share > 0
    if abs(target_obs - target0) < 1e-14 or not active.any():
        return beta
    x, w = pattern_distribution(q[active])
    design = np.column_stack([np.ones(len(x)), x])
    s = share[active] / share[active].sum()
    kind = "logit" if link_inv is expit else "log"
    scale = target_obs - target0

    def mean_obs(b: np.ndarray) -> float:
        return float(w @ link_inv(beta[0] + x @ b))

    # Start: b = k * s / q, a one-dimensional search for k hitting the observed mean.
    v = s / q[active]
    h = lambda k: mean_obs(k * v) - target_obs  # noqa: E731
    hi = 1.0 if scale > 0 else -1.0
    while abs(hi) < 200 and np.sign(h(hi)) != np.sign(scale):
        hi *= 2
    if np.sign(h(hi)) != np.sign(scale):
        raise ValueError(_infeasible(name, what, q, share))
    k0 = optimize.brentq(h, 0.0, hi, xtol=1e-14)

    def residuals(b: np.ndarray) -> np.ndarray:
        full = np.concatenate([[beta[0]], b])
        m_obs, _, m_without = counterfactual(full, design, w, link=kind)
        removal = m_obs - m_without
        return np.concatenate([[(m_obs - target_obs) / scale], (removal / removal.sum() - s)[:-1]])

    def jacobian(b: np.ndarray) -> np.ndarray:
        eta = beta[0] + x @ b  # (K,)
        eta_without = eta[:, None] - x * b  # (K, G)
        slope = _slope(link_inv, eta)
        d_obs = (w * slope) @ x  # (G,)
        # d m_without[g] / d b[j] = Σ_k w f'(η_k - b_g x_kg) x_kj for j != g, 0 for j == g.
        d_without = np.einsum("k,kg,kj->gj", w, _slope(link_inv, eta_without), x)
        d_without[np.diag_indices_from(d_without)] = 0.0
        _, m_without = w @ link_inv(eta), w @ link_inv(eta_without)
        removal = w @ link_inv(eta) - m_without
        d_removal = d_obs[None, :] - d_without
        total, d_total = removal.sum(), d_removal.sum(axis=0)
        d_share = (d_removal * total - removal[:, None] * d_total[None, :]) / total**2
        return np.vstack([d_obs[None, :] / scale, d_share[:-1]])

    sol = optimize.root(residuals, k0 * v, jac=jacobian, method="hybr", tol=1e-13)
    if not np.all(np.isfinite(sol.x)) or np.max(np.abs(residuals(sol.x))) > 1e-9:
        raise ValueError(_infeasible(name, what, q, share))
    beta[1:][active] = sol.x
    return beta


def solve_churn(churn_12m: float, reduction: float, q: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Logistic churn coefficients with the observed 12-month churn ``churn_12m``, a relative
    reduction ``reduction`` of the mean monthly hazard when every gap is closed, and hazard
    removals of single groups in proportion to ``share`` (docs/model.md §7)."""
    what = "churn_12m/churn_reduction"
    # Start from the same targets read on the probability scale, then move to the hazard scale.
    beta = solve_response(
        "churn", expit, logit, churn_12m * (1 - reduction), churn_12m, q, share, what
    )
    active = share > 0
    if reduction == 0 or not active.any():
        return beta
    x, w = pattern_distribution(q[active])
    design = np.column_stack([np.ones(len(x)), x])
    s = share[active] / share[active].sum()
    keep = np.r_[True, active]

    def residuals(z: np.ndarray) -> np.ndarray:
        mean_p = float(w @ expit(design @ z))
        obs, none, without = counterfactual(z, design, w, hazard=True)
        removal = obs - without
        shares = removal / removal.sum() - s
        return np.concatenate([[mean_p / churn_12m - 1, 1 - none / obs - reduction], shares[:-1]])

    sol = optimize.root(residuals, beta[keep], method="hybr", tol=1e-13)
    if not np.all(np.isfinite(sol.x)) or np.max(np.abs(residuals(sol.x))) > 1e-9:
        raise ValueError(_infeasible("churn", what, q, share))
    beta[keep] = sol.x
    return beta


def solve_linear(
    promoters: float,
    promoter_gain: float,
    detractors: float,
    detractor_reduction: float,
    q: np.ndarray,
    share: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Linear-probability coefficients of promoters and detractors (the linear score law).

    ``p(x) = clip(P0 − k_p·Σ_g v_g x_g, 0, 1)`` and ``d(x) = min(clip(D0 + k_d·Σ_g v_g x_g, 0, 1),
    1 − p(x))`` with ``P0`` the no-gap promoter share, ``D0`` the no-gap detractor share,
    ``v_g = share_g / q_g`` and ``k_p``, ``k_d`` solved so the observed shares come out exactly.
    Returns the coefficient vectors ``[P0, −k_p·v]`` and ``[D0, k_d·v]`` (intercept first).
    """
    p0 = promoters + promoter_gain
    d0 = detractors * (1 - detractor_reduction)
    if p0 + d0 > 1:
        raise ValueError(
            f"infeasible truth: with no gaps promoters {p0:.3f} + detractors {d0:.3f} exceed 1"
        )
    active = share > 0
    promoter, detractor = np.zeros(1 + len(q)), np.zeros(1 + len(q))
    promoter[0], detractor[0] = p0, d0
    if not active.any():
        return promoter, detractor
    x, w = pattern_distribution(q[active])
    v = (share[active] / share[active].sum()) / q[active]
    load = x @ v  # (K,)

    def p_of(k: float) -> np.ndarray:
        return np.clip(p0 - k * load, 0.0, 1.0)

    k_p = _root(lambda k: float(w @ p_of(k)) - promoters, promoter_gain, "promoter_gain")
    p = p_of(k_p)
    k_d = _root(
        lambda k: float(w @ np.minimum(np.clip(d0 + k * load, 0, 1), 1 - p)) - detractors,
        detractors - d0,
        "detractor_reduction",
    )
    promoter[1:][active], detractor[1:][active] = -k_p * v, k_d * v
    return promoter, detractor


def _root(f, direction: float, what: str) -> float:
    """The ``k`` with ``f(k) = 0`` on the side of 0 that ``direction`` points to."""
    if abs(direction) < 1e-14:
        return 0.0
    hi = 1.0 if direction > 0 else -1.0
    while abs(hi) < 1e6 and np.sign(f(hi)) == np.sign(f(0.0)):
        hi *= 2
    if np.sign(f(hi)) == np.sign(f(0.0)):
        raise ValueError(f"infeasible truth: the linear score law cannot reach the {what}")
    return float(optimize.brentq(f, 0.0, hi, xtol=1e-15))


def _slope(link_inv, eta: np.ndarray) -> np.ndarray:
    """Derivative of the inverse link at ``eta``."""
    if link_inv is expit:
        mu = expit(eta)
        return mu * (1 - mu)
    return np.exp(eta)


def _infeasible(name: str, what: str, q: np.ndarray, share: np.ndarray) -> str:
    return (
        f"infeasible truth: no {name} model reaches the requested {what} with pain shares "
        f"{np.round(share, 4).tolist()} and gap prevalences {np.round(q, 4).tolist()}; the "
        "effect is too large for how rare the gaps are (lower the effect or raise prevalence)"
    )
