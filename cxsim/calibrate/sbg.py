"""The shifted-beta-geometric likelihood: terms, gradient, Hessian, maximisation, fit test.

Both data layouts pool into weighted Beta-function terms (Fader & Hardie 2007, eqs. 5–8 and
the appendix's multi-cohort extension)::

    log L(alpha, beta) = Σ w·betaln(alpha + p, beta + q) - Σ v·betaln(alpha, beta + r)

- **Cohorts** (followed from acquisition): ``p = 1, q = t - 1`` for the customers lost in
  period ``t``, ``p = 0, q = n`` for those still active at a cohort's last observed period
  ``n``, and one entry term ``r = 0`` weighing every customer.
- **Snapshots** (customers seen for one period, at any tenure): a customer who had completed
  ``t`` periods when the observed period began entered the data *because* they had survived
  ``t`` periods (left truncation), so their contribution is conditional on ``T > t``::

      P(T = t + 1 | T > t) = B(alpha + 1, beta + t) / B(alpha, beta + t) = alpha / (alpha+beta+t)
      P(T > t + 1 | T > t) = B(alpha, beta + t + 1) / B(alpha, beta + t) = (beta+t) / (alpha+beta+t)

  i.e. ``p = 1, q = t`` for churners, ``p = 0, q = t + 1`` for stayers, and an entry term
  ``r = t`` for each.

The gradient and Hessian follow from ``d betaln(a, b)/da = digamma(a) - digamma(a + b)``.
:func:`chi_square` tests the fit: observed against expected churners by period or tenure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from cxsim.errors import CalibrationError

__all__ = [
    "ChiSquare",
    "Terms",
    "chi_square",
    "cohort_terms",
    "estimate",
    "hazard_terms",
    "hessian",
    "maximise",
]

# NOTE: beyond e^11.5 ≈ 1e5 (or below e^-11.5) the likelihood is flat: the fit is running off
# to a limit (no heterogeneity, or churn-at-once) rather than converging.
_LOG_LIMIT = 11.5
#: Bands of the χ² test are pooled until they expect at least this many churners and stayers.
MIN_EXPECTED = 5.0
#: The χ² test fails below this p-value.
GOF_LEVEL = 0.05


@dataclass(frozen=True)
class Terms:
    """``log L = w @ betaln(alpha + p, beta + q) - v @ betaln(alpha, beta + r)``."""

    p: np.ndarray
    q: np.ndarray
    w: np.ndarray
    r: np.ndarray
    v: np.ndarray


def cohort_terms(counts: np.ndarray, lengths: np.ndarray) -> Terms:
    """Pool all cohorts' losses and survivors (periods counted from acquisition).

    Parameters
    ----------
    counts : ndarray, shape (period, cohort)
        Customers active, trailing NaN where a cohort is not observed yet.
    lengths : ndarray, shape (cohort,)
        Last observed period of each cohort.
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
    return Terms(p[keep].astype(float), q[keep], w[keep], np.zeros(1), np.array([w.sum()]))


def hazard_terms(tenure: np.ndarray, at_risk: np.ndarray, churned: np.ndarray) -> Terms:
    """Left-truncated terms: ``at_risk`` customers with ``tenure`` completed periods, of whom
    ``churned`` left in the next period (the snapshot layout)."""
    t = np.asarray(tenure, dtype=float)
    p = np.concatenate([np.ones_like(t), np.zeros_like(t)])
    q = np.concatenate([t, t + 1])
    w = np.concatenate([churned, at_risk - churned])
    keep = w > 0
    return Terms(p[keep], q[keep], w[keep], t, np.asarray(at_risk, dtype=float))


def hessian(alpha: float, beta: float, terms: Terms) -> np.ndarray:
    """Second derivatives of the log-likelihood in ``(alpha, beta)``: a 2×2 array."""
    p, q, w, r, v = terms.p, terms.q, terms.w, terms.r, terms.v
    s = special.polygamma(1, alpha + beta + p + q)
    s0 = special.polygamma(1, alpha + beta + r)
    haa = w @ (special.polygamma(1, alpha + p) - s) - v @ (special.polygamma(1, alpha) - s0)
    hbb = w @ (special.polygamma(1, beta + q) - s) - v @ (special.polygamma(1, beta + r) - s0)
    hab = -(w @ s) + v @ s0
    return np.array([[haa, hab], [hab, hbb]])


def estimate(terms: Terms, hazards) -> tuple[float, float, np.ndarray, float]:
    """Maximum likelihood: ``alpha, beta``, their covariance (inverse observed information)
    and the maximised log-likelihood.

    ``hazards`` is ``(tenure, at_risk, churned)`` by tenure, for the start
    (:func:`start_from_hazards`) and to describe data the sBG cannot fit.
    """
    (t_young, t_old), (h_young, h_old) = _halves(*hazards)
    trend = (
        f"observed churn is {h_young:.1%} a period among the younger half of the customers at "
        f"risk (mean tenure {t_young:.1f}) and {h_old:.1%} among the older half "
        f"(mean tenure {t_old:.1f})"
    )
    log_params, loglik = maximise(terms, start_from_hazards(*hazards), trend=trend)
    alpha, beta = np.exp(log_params)
    info = -hessian(alpha, beta, terms)
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        cov = np.full((2, 2), np.nan)
    if not (np.all(np.isfinite(cov)) and np.all(np.linalg.eigvalsh(cov) > 0)):
        raise CalibrationError(
            "sBG fit did not converge to a proper maximum (information matrix not positive "
            "definite); try more periods or pooling more cohorts"
        )
    return float(alpha), float(beta), cov, loglik


def maximise(terms: Terms, start: np.ndarray, trend: str = "") -> tuple[np.ndarray, float]:
    """Minimise the negative log-likelihood over ``(log alpha, log beta)``.

    Trust-region Newton (``trust-exact``) with the analytic gradient and Hessian from
    ``start`` (see :func:`start_from_hazards`), polished by plain Newton steps. ``trend``
    describes the data when churn does not fall with tenure.

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

    def objective(theta):
        a, b = np.exp(theta)
        return -_loglik(a, b, terms)

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
            start,
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
            "sBG fit did not converge: alpha and beta grow without bound, i.e. churn does not "
            "fall with tenure (no heterogeneity, or churn that rises with tenure)"
            + (f": {trend}" if trend else "")
            + ". Try a constant `monthly_churn` instead, or more periods / more cohorts; "
            "churn that rises with tenure is not an sBG (fixed-term contracts, "
            "non-contractual data)"
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


def start_from_hazards(tenure, at_risk, churned) -> np.ndarray:
    """A start for :func:`maximise`: ``1/churn(t) = 1 + beta/alpha + t/alpha`` is a line in t.

    The customers at risk are split at their median tenure; the churn rates of the two halves
    at their mean tenures give the line's slope ``1/alpha`` and intercept.
    """
    (t_young, t_old), (h_young, h_old) = _halves(tenure, at_risk, churned)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = (t_old - t_young) / (1 / h_old - 1 / h_young)
        b = a * (1 / h_young - 1) - t_young
    if np.isfinite(a) and np.isfinite(b) and a > 0 and b > 0:
        return np.log(np.clip([a, b], 1e-3, 1e3))
    return np.zeros(2)


def _halves(tenure, at_risk, churned) -> tuple[np.ndarray, np.ndarray]:
    """Mean tenure and churn rate of the younger and the older half of the customers at risk."""
    t, n, d = (np.asarray(x, dtype=float) for x in (tenure, at_risk, churned))
    cut = max(int(np.searchsorted(np.cumsum(n), n.sum() / 2)), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        parts = [slice(0, cut), slice(cut, None)]
        mean_t = np.array([(t[s] * n[s]).sum() / n[s].sum() for s in parts])
        rate = np.array([d[s].sum() / n[s].sum() for s in parts])
    return mean_t, rate


def _loglik(alpha, beta, terms: Terms) -> float:
    return float(
        terms.w @ special.betaln(alpha + terms.p, beta + terms.q)
        - terms.v @ special.betaln(alpha, beta + terms.r)
    )


def _gradient(alpha, beta, terms: Terms) -> np.ndarray:
    p, q, w, r, v = terms.p, terms.q, terms.w, terms.r, terms.v
    s = special.digamma(alpha + beta + p + q)
    s0 = special.digamma(alpha + beta + r)
    ga = w @ (special.digamma(alpha + p) - s) - v @ (special.digamma(alpha) - s0)
    gb = w @ (special.digamma(beta + q) - s) - v @ (special.digamma(beta + r) - s0)
    return np.array([ga, gb])


# -- goodness of fit ------------------------------------------------------------------------
@dataclass(frozen=True)
class ChiSquare:
    """Pearson χ² of observed against expected churners and stayers, band by band.

    Attributes
    ----------
    statistic, df, pvalue : float, int, float
        The statistic, its degrees of freedom (bands − 2) and the upper-tail p-value; ``df``
        0 and ``pvalue`` NaN when fewer than three bands remain after pooling.
    table : DataFrame
        One row per band: ``first``, ``last`` (of the period or tenure range), ``at_risk``,
        ``churned``, ``expected`` (churners), ``variance`` (binomial, of the churners) and
        ``z = (churned − expected)/√variance``.
    """

    statistic: float
    df: int
    pvalue: float
    table: pd.DataFrame

    @property
    def passed(self) -> bool | None:
        """``p ≥ 0.05`` (None when the test could not be run)."""
        return None if self.df < 1 else bool(self.pvalue >= GOF_LEVEL)

    def line(self) -> str:
        """One line for a summary."""
        if self.df < 1:
            return f"χ² goodness of fit: not tested ({len(self.table)} band(s); 3 needed)"
        verdict = "passes" if self.passed else "FAILS"
        return (
            f"χ² goodness of fit: {self.statistic:.2f} on {self.df} df, p = {self.pvalue:.3g} "
            f"({verdict} at 0.05; {len(self.table)} bands)"
        )


def chi_square(
    first: np.ndarray, at_risk: np.ndarray, churned: np.ndarray, hazard: np.ndarray
) -> ChiSquare:
    """Test a fitted churn curve against the churners observed at each period or tenure.

    Parameters
    ----------
    first : ndarray
        Period (cohorts) or tenure (snapshots) of each row, ascending.
    at_risk, churned : ndarray
        Customers at risk and churners in each row.
    hazard : ndarray
        Fitted churn probability of each row.

    Notes
    -----
    Neighbouring rows are pooled into bands until each expects at least 5 churners and 5
    stayers (a short last band joins the one before). Each band's customers churn
    independently given the fit, so over bands ``b`` with ``N_b`` at risk, ``O_b`` churners
    observed and ``E_b = Σ n·churn`` expected, Pearson's ``Σ_b (O−E)²/E + (O−E)²/(N−E)`` is
    approximately χ² with ``bands − 2`` degrees of freedom (two parameters fitted).
    """
    first = np.asarray(first, dtype=float)
    n, d = np.asarray(at_risk, dtype=float), np.asarray(churned, dtype=float)
    h = np.asarray(hazard, dtype=float)
    e = n * h
    bands: list[list[int]] = []
    current: list[int] = []
    for i in range(len(first)):
        current.append(i)
        expected = e[current].sum()
        if expected >= MIN_EXPECTED and n[current].sum() - expected >= MIN_EXPECTED:
            bands.append(current)
            current = []
    if current:
        if bands:
            bands[-1] += current
        else:
            bands.append(current)
    rows = []
    for band in bands:
        nb, ob, eb = n[band].sum(), d[band].sum(), e[band].sum()
        var = (e[band] * (1 - h[band])).sum()  # binomial variance of the band's churners
        rows.append(
            {
                "first": int(first[band[0]]),
                "last": int(first[band[-1]]),
                "at_risk": nb,
                "churned": ob,
                "expected": eb,
                "variance": var,
                "z": (ob - eb) / np.sqrt(var) if var > 0 else np.nan,
                "_pearson": (ob - eb) ** 2 * (1 / eb + 1 / (nb - eb)) if 0 < eb < nb else 0.0,
            }
        )
    table = pd.DataFrame(rows)
    statistic = float(table.pop("_pearson").sum())
    df = len(table) - 2
    if df < 1:
        return ChiSquare(statistic, 0, float("nan"), table)
    return ChiSquare(statistic, df, float(stats.chi2.sf(statistic, df)), table)
