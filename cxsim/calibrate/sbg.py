"""The shifted-beta-geometric likelihood: terms, gradient, Hessian and its maximisation.

All cohorts pool into weighted terms ``w·betaln(alpha + p, beta + q)`` (Fader & Hardie 2007,
eqs. 5–8 and the appendix's multi-cohort extension)::

    log L(alpha, beta) = Σ w·betaln(alpha + p, beta + q) - (Σ w)·betaln(alpha, beta)

with ``p = 1, q = t - 1`` for the customers lost in period ``t`` and ``p = 0, q = n`` for those
still active at a cohort's last observed period ``n``. The gradient and Hessian follow from
``d betaln(a, b)/da = digamma(a) - digamma(a + b)``.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special

from cxsim.errors import CalibrationError

__all__ = ["hessian", "likelihood_terms", "maximise"]

# NOTE: beyond e^11.5 ≈ 1e5 (or below e^-11.5) the likelihood is flat: the fit is running off
# to a limit (no heterogeneity, or churn-at-once) rather than converging.
_LOG_LIMIT = 11.5


def likelihood_terms(counts: np.ndarray, lengths: np.ndarray):
    """Pool all cohorts into weighted terms ``w·betaln(alpha + p, beta + q)``.

    Losses in period t (from every cohort observed at t) give p = 1, q = t - 1; customers
    still active at a cohort's last period n give p = 0, q = n.

    Parameters
    ----------
    counts : ndarray, shape (period, cohort)
        Customers active, trailing NaN where a cohort is not observed yet.
    lengths : ndarray, shape (cohort,)
        Last observed period of each cohort.

    Returns
    -------
    p, q, w : ndarray
        The terms with a positive weight.
    """
    lost = np.nan_to_num(counts[:-1] - counts[1:], nan=0.0).sum(axis=1)  # (period,)
    t = np.arange(1, counts.shape[0])
    last = counts[lengths, np.arange(counts.shape[1])]
    survivors = np.bincount(lengths, weights=last, minlength=counts.shape[0])
    n = np.arange(counts.shape[0])
    p = np.concatenate([np.ones_like(t), np.zeros_like(n)])
    q = np.concatenate([t - 1, n]).astype(float)
    w = np.concatenate([lost, survivors])
    keep = w > 0
    return p[keep].astype(float), q[keep], w[keep]


def hessian(alpha: float, beta: float, terms) -> np.ndarray:
    """Second derivatives of the log-likelihood in ``(alpha, beta)``: a 2×2 array."""
    p, q, w = terms
    total = w.sum()
    s = special.polygamma(1, alpha + beta + p + q)
    s0 = special.polygamma(1, alpha + beta)
    haa = w @ (special.polygamma(1, alpha + p) - s) - total * (special.polygamma(1, alpha) - s0)
    hbb = w @ (special.polygamma(1, beta + q) - s) - total * (special.polygamma(1, beta) - s0)
    hab = -(w @ s) + total * s0
    return np.array([[haa, hab], [hab, hbb]])


def maximise(terms, counts: np.ndarray) -> tuple[np.ndarray, float]:
    """Minimise the negative log-likelihood over ``(log alpha, log beta)``.

    Trust-region Newton (``trust-exact``) with the analytic gradient and Hessian from a
    moment-matching start, polished by plain Newton steps.

    Returns
    -------
    theta : ndarray
        ``(log alpha, log beta)`` at the maximum.
    loglik : float
        The maximised log-likelihood.

    Raises
    ------
    CalibrationError
        Estimates running off to 0 or infinity, or no convergence.
    """
    w_total = terms[2].sum()

    def objective(theta):
        a, b = np.exp(theta)
        return -_loglik(a, b, terms, w_total)

    def jac(theta):
        x = np.exp(theta)
        return -x * _gradient(x[0], x[1], terms)

    def hess(theta):
        x = np.exp(theta)
        g = _gradient(x[0], x[1], terms)
        return -(np.outer(x, x) * hessian(x[0], x[1], terms) + np.diag(x * g))

    with np.errstate(all="ignore"):
        result = optimize.minimize(
            objective,
            _start(counts),
            jac=jac,
            hess=hess,
            method="trust-exact",
            options={"gtol": 1e-6, "maxiter": 200},
        )
        theta, value = result.x, float(result.fun)
        # NOTE: polish with plain Newton steps: trust-exact stops early (and reports failure)
        # when its model can no longer predict a gain at machine precision.
        for _ in range(6):
            h, g = hess(theta), jac(theta)
            if not (np.all(np.isfinite(h)) and np.all(np.linalg.eigvalsh(h) > 0)):
                break
            step = np.linalg.solve(h, g)
            trial = theta - step
            # near the optimum, changes in the objective drown in rounding: trust small steps
            if np.max(np.abs(step)) > 1e-3 and not objective(trial) <= value:
                break
            theta, value = trial, objective(trial)
            if np.max(np.abs(step)) < 1e-12:
                break
        converged = np.all(np.isfinite(theta)) and np.max(np.abs(jac(theta))) < 1e-4
    if np.any(theta > _LOG_LIMIT):
        raise CalibrationError(
            "sBG fit did not converge: alpha and beta grow without bound, i.e. retention rates "
            "do not rise with tenure (no heterogeneity). Try a constant `monthly_churn` instead, "
            "or more periods / more cohorts"
        )
    if np.any(theta < -_LOG_LIMIT):
        raise CalibrationError(
            "sBG fit did not converge: alpha and beta shrink towards 0 (customers either leave "
            "at once or never). Try splitting the cohort into segments or adding periods"
        )
    if not converged:
        raise CalibrationError(
            f"sBG fit did not converge ({result.message}); check the counts, try more periods "
            "or pooling cohorts"
        )
    return theta, -value


def _loglik(alpha, beta, terms, total):
    p, q, w = terms
    return float(w @ special.betaln(alpha + p, beta + q) - total * special.betaln(alpha, beta))


def _gradient(alpha, beta, terms):
    p, q, w = terms
    total = w.sum()
    s = special.digamma(alpha + beta + p + q)
    ga = w @ (special.digamma(alpha + p) - s) - total * (
        special.digamma(alpha) - special.digamma(alpha + beta)
    )
    gb = w @ (special.digamma(beta + q) - s) - total * (
        special.digamma(beta) - special.digamma(alpha + beta)
    )
    return np.array([ga, gb])


def _start(counts: np.ndarray) -> np.ndarray:
    """Match churn in periods 1 and 2 of the pooled data: m = a/(a+b), r2 = (b+1)/(a+b+1)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        at_risk = np.nansum(np.where(np.isnan(counts[1:3]), np.nan, counts[0:2]), axis=1)
        lost = np.nansum(counts[0:2] - counts[1:3], axis=1)
        m, c2 = lost / at_risk
        a = m * c2 / (m - c2)
    if np.isfinite(a) and 0 < m < 1 and 0 < c2 < m and a > 0:
        b = a * (1 - m) / m
        return np.log(np.clip([a, b], 1e-3, 1e3))
    return np.zeros(2)
