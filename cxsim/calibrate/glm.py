"""Batched grouped GLM solvers: logistic regression by Newton–Raphson and least squares.

Both fit one small model (``p`` coefficients on ``K`` gap patterns) for many replicates at
once: the point estimate is replicate 0, bootstrap replicates are the others. Everything is a
stacked array ``(B, ...)``, so B fits cost a few matrix products per Newton step, not B
Python loops. A coefficient of a gap nobody in a replicate is exposed to is not identified;
it is pinned at 0 rather than left to make the system singular.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, log_expit

__all__ = ["MAX_ABS_COEF", "GlmFit", "fit_logit", "fit_ols"]

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


def fit_logit(x: np.ndarray, trials: np.ndarray, events: np.ndarray, max_iter: int = 60) -> GlmFit:
    """Grouped binomial logistic regression by Newton–Raphson, batched over replicates.

    Parameters
    ----------
    x : ndarray, shape (K, p)
        Design with an intercept column.
    trials, events : ndarray, shape (B, K)
        Respondents and events per pattern (events may be fractional, e.g. expected counts).
    max_iter : int
        Newton iterations at most.

    Returns
    -------
    GlmFit
        Step halving keeps the log-likelihood increasing; columns with no exposure in a
        replicate are pinned at 0.
    """
    n_rep, p = trials.shape[0], x.shape[1]
    free = (trials @ x) > 0
    free[:, 0] = True
    rate = np.clip(events.sum(1) / trials.sum(1), 1e-12, 1 - 1e-12)
    beta = np.zeros((n_rep, p))
    beta[:, 0] = np.log(rate / (1 - rate))
    ll = _loglik(beta, x, trials, events)
    done = np.zeros(n_rep, bool)
    singular = np.zeros(n_rep, bool)
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 (the count is reported)
        mu = expit(beta @ x.T)
        grad = (events - trials * mu) @ x
        hess = _gram(trials * mu * (1 - mu), x)
        hess, grad = _masked(hess, grad, free)
        step, flat = _solve(hess, grad)
        singular |= flat
        step = np.where(done[:, None], 0.0, step)
        new = beta + step
        new_ll = _loglik(new, x, trials, events)
        for _ in range(30):  # step halving where the likelihood fell
            worse = new_ll < ll - 1e-10 * np.abs(ll)
            if not worse.any():
                break
            step = np.where(worse[:, None], step / 2, step)
            new = beta + step
            new_ll = np.where(worse, _loglik(new, x, trials, events), new_ll)
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


def _loglik(beta: np.ndarray, x: np.ndarray, trials: np.ndarray, events: np.ndarray) -> np.ndarray:
    """Binomial log-likelihood of every replicate (without the constant binomial terms)."""
    eta = beta @ x.T
    return (events * log_expit(eta) + (trials - events) * log_expit(-eta)).sum(axis=1)
