"""Batched grouped GLM solvers: logistic regression by Newton–Raphson and least squares.

Both fit one small model (``p`` coefficients on ``K`` gap patterns) for many replicates at
once: the point estimate is replicate 0, bootstrap replicates are the others. Everything is a
stacked array ``(B, ...)``, so B fits cost a few matrix products per Newton step, not B
Python loops. A coefficient of a gap nobody in a replicate is exposed to is not identified;
it is pinned at 0 rather than left to make the system singular.

``fit_logit(..., firth=True)`` maximises Firth's penalised likelihood
``l(β) + ½·log det I(β)`` instead (Jeffreys-prior penalty): estimates are finite under
separation and their small-sample bias is removed to first order. Grouped data give the same
penalised likelihood as the respondents they stand for (the information is the same). For a 2×2
table the estimate is the plain one with half a count added to every cell (Firth 1993, §3); the
tests check that closed form and a direct maximisation of the penalised likelihood.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, log_expit

__all__ = ["MAX_ABS_COEF", "GlmFit", "deviance", "fit_logit", "fit_ols"]

#: Largest |coefficient| accepted before calling the fit separated (odds ratio e^20 ≈ 5e8).
MAX_ABS_COEF = 20.0


@dataclass
class GlmFit:
    """Coefficients and curvature of a batch of fits (one row per replicate).

    Attributes
    ----------
    beta : ndarray, shape (B, p)
        Coefficients, intercept first.
    hessian : ndarray, shape (B, p, p)
        Information matrix (logit) or ``X'NX`` (least squares).
    ok : ndarray, shape (B,)
        Solved, with finite coefficients.
    iterations : int
        Newton iterations used (0 for least squares).
    sigma2 : ndarray, shape (B,), optional
        Residual variance (least squares; set by the caller, who knows the within-cell spread).
    separated : ndarray, shape (B,), optional
        No finite maximum (logit: did not converge) or a singular system.
    """

    beta: np.ndarray
    hessian: np.ndarray
    ok: np.ndarray
    iterations: int = 0
    sigma2: np.ndarray | None = None
    separated: np.ndarray | None = None


def fit_logit(
    x: np.ndarray,
    trials: np.ndarray,
    events: np.ndarray,
    max_iter: int = 60,
    *,
    firth: bool = False,
) -> GlmFit:
    """Grouped binomial logistic regression by Newton–Raphson, batched over replicates.

    Parameters
    ----------
    x : ndarray, shape (K, p)
        Design with an intercept column.
    trials, events : ndarray, shape (B, K)
        Respondents and events per pattern (events may be fractional, e.g. expected counts).
    max_iter : int
        Newton iterations at most.
    firth : bool
        Maximise Firth's penalised likelihood ``l(β) + ½·log det I(β)``: the score gains
        ``Σ_k h_k(½ − μ_k) x_k`` with ``h_k`` the leverage of pattern k (Firth 1993; Heinze &
        Schemper 2002). Finite under separation.

    Returns
    -------
    GlmFit
        Step halving keeps the (penalised) log-likelihood increasing; columns with no exposure
        in a replicate are pinned at 0. ``hessian`` is the Fisher information at the estimate.

    References
    ----------
    .. [1] Firth, D. (1993). Bias reduction of maximum likelihood estimates. *Biometrika*
       80(1), 27–38.
    .. [2] Heinze, G. & Schemper, M. (2002). A solution to the problem of separation in
       logistic regression. *Statistics in Medicine* 21(16), 2409–2419.

    Examples
    --------
    >>> x = np.array([[1.0, 0.0], [1.0, 1.0]])
    >>> trials, events = np.array([[10.0, 10.0]]), np.array([[2.0, 10.0]])  # separated
    >>> bool(fit_logit(x, trials, events).separated[0])
    True
    >>> np.round(fit_logit(x, trials, events, firth=True).beta[0], 3)
    array([-1.224,  4.268])
    """
    n_rep, p = trials.shape[0], x.shape[1]
    free = (trials @ x) > 0
    free[:, 0] = True
    rate = np.clip(events.sum(1) / trials.sum(1), 1e-12, 1 - 1e-12)
    beta = np.zeros((n_rep, p))
    beta[:, 0] = np.log(rate / (1 - rate))
    objective = _penalised if firth else _loglik
    ll = objective(beta, x, trials, events, free)
    done = np.zeros(n_rep, bool)
    singular = np.zeros(n_rep, bool)
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 (the count is reported)
        mu = expit(beta @ x.T)
        weight = trials * mu * (1 - mu)
        hess, _ = _masked(_gram(weight, x), np.zeros_like(beta), free)
        residual = events - trials * mu
        if firth:  # Firth's modified score: y - nμ + h(½ - μ)
            residual = residual + _leverage(hess, weight, x) * (0.5 - mu)
        _, grad = _masked(hess, residual @ x, free)
        step, flat = _solve(hess, grad)
        singular |= flat
        step = np.where(done[:, None], 0.0, step)
        if firth:  # NOTE: the penalised surface is flat far out; cap steps as logistf does
            step = step * np.minimum(1.0, 5.0 / np.maximum(np.abs(step).max(1), 1e-300))[:, None]
        new = beta + step
        new_ll = objective(new, x, trials, events, free)
        for _ in range(30):  # step halving where the likelihood fell
            worse = new_ll < ll - 1e-10 * np.abs(ll)
            if not worse.any():
                break
            step = np.where(worse[:, None], step / 2, step)
            new = beta + step
            new_ll = np.where(worse, objective(new, x, trials, events, free), new_ll)
        beta, ll = new, new_ll
        done |= np.max(np.abs(step), axis=1) < 1e-10 * (1 + np.max(np.abs(beta), axis=1))
        if np.all(done):
            break
    mu = expit(beta @ x.T)
    hess = _gram(trials * mu * (1 - mu), x)
    hess, _ = _masked(hess, np.zeros_like(beta), free)
    ok = np.all(np.isfinite(beta), axis=1)
    separated = singular | ~done | (np.max(np.abs(beta), axis=1) >= MAX_ABS_COEF)
    return GlmFit(beta, hess, ok, it, separated=separated)


def deviance(x: np.ndarray, beta: np.ndarray, trials: np.ndarray, events: np.ndarray) -> np.ndarray:
    """Binomial deviance against the saturated model (a cell rate per pattern), (B,).

    ``2 Σ_k [y log(y/μ) + (n − y) log((n − y)/(n − μ))]`` with ``μ = n·expit(x β)``; the
    difference of two nested fits' deviances is their likelihood-ratio statistic.
    """
    mu = trials * expit(beta @ x.T)
    rest, mu_rest = trials - events, trials - mu
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(events > 0, events * np.log(events / mu), 0.0)
        b = np.where(rest > 0, rest * np.log(rest / mu_rest), 0.0)
    return 2 * np.where(trials > 0, a + b, 0.0).sum(axis=1)


def fit_ols(x: np.ndarray, count: np.ndarray, total: np.ndarray) -> GlmFit:
    """Least squares on cell counts (B, K) and cell sums of the response (B, K).

    The per-pattern counts and sums are sufficient for the coefficients; the residual
    variance needs the within-pattern spread, which the caller sets as ``sigma2``.
    """
    free = (count @ x) > 0
    free[:, 0] = True
    hess = _gram(count, x)
    hess, rhs = _masked(hess, total @ x, free)
    beta, singular = _solve(hess, rhs)
    return GlmFit(beta, hess, np.all(np.isfinite(beta), axis=1), separated=singular)


def _gram(weight: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``X' diag(w_b) X`` for every replicate: (B, K), (K, p) -> (B, p, p)."""
    return np.matmul(x.T[None, :, :] * weight[:, None, :], x)


def _masked(h: np.ndarray, g: np.ndarray, free: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pin the coefficients of columns nobody is exposed to at 0 (identity rows)."""
    both = free[:, :, None] & free[:, None, :]
    h = np.where(both, h, 0.0) + np.eye(h.shape[-1]) * (~free)[:, :, None]
    return h, np.where(free, g, 0.0)


def _solve(h: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batched ``h x = g``; a singular ``h`` (a rare gap collinear with another in a resample,
    or weights underflowing under separation) gets the minimum-norm solution and is flagged."""
    try:
        return np.linalg.solve(h, g[..., None])[..., 0], np.zeros(len(g), bool)
    except np.linalg.LinAlgError:
        out, singular = np.empty_like(g), np.zeros(len(g), bool)
        for b in range(len(g)):
            try:
                out[b] = np.linalg.solve(h[b], g[b])
            except np.linalg.LinAlgError:
                out[b] = np.linalg.lstsq(h[b], g[b], rcond=None)[0]
                singular[b] = True
        return out, singular


def _leverage(hess: np.ndarray, weight: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Diagonal of the hat matrix ``W½ X (X'WX)⁻¹ X' W½`` per pattern: (B, K)."""
    inv = np.linalg.pinv(hess)  # (B, p, p); pinned columns have an identity block
    return weight * np.einsum("kp,bpq,kq->bk", x, inv, x)


def _loglik(beta, x, trials, events, free=None) -> np.ndarray:
    """Binomial log-likelihood of every replicate (without the constant binomial terms)."""
    eta = beta @ x.T
    return (events * log_expit(eta) + (trials - events) * log_expit(-eta)).sum(axis=1)


def _penalised(beta, x, trials, events, free) -> np.ndarray:
    """Firth's penalised log-likelihood ``l(β) + ½ log det I(β)`` of every replicate."""
    mu = expit(beta @ x.T)
    hess, _ = _masked(_gram(trials * mu * (1 - mu), x), np.zeros_like(beta), free)
    sign, logdet = np.linalg.slogdet(hess)
    return _loglik(beta, x, trials, events) + np.where(sign > 0, 0.5 * logdet, -np.inf)
