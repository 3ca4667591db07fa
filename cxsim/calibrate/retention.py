"""Retention curves → shifted-beta-geometric (sBG) ``alpha``, ``beta`` by maximum likelihood.

Each customer of a cohort churns at the end of a period with a constant probability
``theta``; ``theta`` varies across customers as Beta(alpha, beta). The number of periods
``T`` a customer stays then has (Fader & Hardie 2007, eqs. 5–8)::

    P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta),   t = 1, 2, ...
    S(t)     = P(T > t) = B(alpha, beta + t) / B(alpha, beta)
    r(t)     = S(t) / S(t - 1) = (beta + t - 1) / (alpha + beta + t - 1)

A cohort observed at periods ``0..n`` contributes ``P(T = t)`` for every customer lost in
period ``t`` and ``S(n)`` for every customer still active at ``n`` (right-censored). Several
cohorts observed for different lengths share ``alpha`` and ``beta`` and their
log-likelihoods add up (the multi-cohort extension in the paper's appendix).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from cxsim.calibrate.cohorts import cohort_counts, cohorts_from_frame, observed_lengths
from cxsim.calibrate.files import frame_sha256, provenance, write_calibration
from cxsim.calibrate.reporting import FixedTable, estimate_table
from cxsim.calibrate.sbg import hessian, likelihood_terms, maximise
from cxsim.errors import CalibrationError
from cxsim.outputs.fitted import FitResult, Report, check_level

__all__ = ["SBGResult", "cohorts_from_frame", "fit_sbg"]

METHOD = "sBG maximum likelihood (Fader & Hardie 2007)"
PERIODS = ("month", "year")
_NAMES = ["alpha", "beta"]


def fit_sbg(
    active: Any,
    period: str = "year",
    *,
    n0: float | Sequence[float] | None = None,
    cohorts: Sequence[Any] | None = None,
    cohort_col: str | None = "cohort",
    period_col: str | None = None,
    count_col: str | None = None,
) -> SBGResult:
    """Fit the shifted-beta-geometric retention model to one or more cohorts.

    Parameters
    ----------
    active : array-like, Series, list of sequences or DataFrame
        Customers of a cohort still active at periods ``0, 1, ..., n`` (``active[0]`` is the
        initial size). A 1-D sequence or Series is one cohort. Several cohorts: a DataFrame or
        a 2-D array with rows = periods and one column per cohort, or a list with one sequence
        per cohort. A cohort observed for fewer periods ends in NaN (right-censored:
        "not yet observed"); NaN anywhere else is an error. A long table (one row per cohort
        and period) is read when ``count_col`` is given; see :func:`cohorts_from_frame`.
    period : {"year", "month"}
        Length of one period; written into the ``sbg`` block.
    n0 : float or sequence of float, optional
        Cohort size(s) when ``active`` holds shares (1.0 at period 0). The likelihood needs
        counts, so shares without ``n0`` are refused rather than given an invented size.
    cohorts : sequence, optional
        Labels for the cohorts of a 2-D array or list of sequences.
    cohort_col, period_col, count_col : str, optional
        Column names of a long table; giving ``count_col`` selects the long format
        (``period_col`` defaults to ``period``, e.g. ``"year"``; ``cohort_col=None`` for a
        single cohort).

    Returns
    -------
    SBGResult
        Estimates, standard errors (inverse observed information), ``conf_int()``,
        ``summary()``, ``plot()`` and ``to_yaml()``.

    Raises
    ------
    CalibrationError
        Counts that increase, are negative or non-finite, NaN before the end of a series,
        fewer than two periods of churn, no churn at all, shares without ``n0``, or a
        likelihood that does not converge.

    Notes
    -----
    The negative log-likelihood is minimised over ``log alpha, log beta`` (trust-region
    Newton with the analytic gradient and Hessian, from a moment-matching start). The
    covariance is the inverse of the observed information on the ``alpha, beta`` scale;
    at the maximum this equals the delta-method transform of the log-scale covariance.

    References
    ----------
    Fader, P. S. and Hardie, B. G. S. (2007). How to project customer retention.
    *Journal of Interactive Marketing*, 21(1), 76–90.

    Examples
    --------
    >>> regular = [1000, 631, 468, 382, 326, 289, 262, 241]
    >>> fit = fit_sbg(regular)
    >>> round(fit.alpha_, 3), round(fit.beta_, 3)
    (0.704, 1.182)
    """
    if period not in PERIODS:
        raise CalibrationError(f"period must be one of {PERIODS}, got {period!r}")
    counts, labels, original = cohort_counts(
        active,
        n0=n0,
        cohorts=cohorts,
        cohort_col=cohort_col,
        period_col=period_col or period,
        count_col=count_col,
    )
    lengths = observed_lengths(counts)
    keep = lengths >= 1
    rows_dropped = int((~keep).sum())  # cohorts seen at period 0 only carry no information
    counts, lengths = counts[:, keep], lengths[keep]
    labels = [lab for lab, k in zip(labels, keep, strict=True) if k]
    if lengths.size == 0 or lengths.max() < 2:
        raise CalibrationError(
            "fewer than 2 observed periods of churn: the sBG needs periods 0, 1 and 2 at least "
            "(one period of churn cannot separate alpha from beta)"
        )
    counts = counts[: lengths.max() + 1]  # drop rows no cohort has reached yet
    if np.all(counts[1] == 0):
        raise CalibrationError(
            "every customer churned in period 1: with no one left there is no retention curve "
            "to fit (check the period length, or use a shorter period)"
        )
    terms = likelihood_terms(counts, lengths)
    if terms[2][terms[0] == 1].sum() <= 0:
        raise CalibrationError(
            "no churn events: every customer is still active at the last observed period, "
            "so alpha and beta cannot be estimated"
        )
    log_params, loglik = maximise(terms, counts)
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
    frame = pd.DataFrame(counts, columns=labels)
    return SBGResult(
        alpha=float(alpha),
        beta=float(beta),
        cov=cov,
        loglik=loglik,
        period=period,
        counts=frame,
        rows_used=int(lengths.sum() + lengths.size),
        rows_dropped=rows_dropped,
        data=original,
    )


class SBGResult(FitResult):
    """A fitted shifted-beta-geometric retention model.

    A :class:`~cxsim.outputs.fitted.FitResult`: ``estimates_`` holds one row per parameter
    (segment ``"all"``) with the log-scale Wald interval of :meth:`conf_int`.

    Attributes
    ----------
    alpha_, beta_ : float
        Maximum-likelihood estimates.
    params_ : Series
        The two estimates indexed ``alpha``, ``beta``.
    se_ : Series
        Standard errors (square roots of the diagonal of ``cov_``).
    estimates_ : DataFrame
        ``segment, parameter, estimate, se, lower, upper`` (95% intervals).
    cov_ : DataFrame
        2×2 covariance of ``(alpha, beta)``: inverse observed information.
    loglik_ : float
        Maximised log-likelihood.
    n_periods_ : int
        Longest observed cohort, in periods after period 0.
    n_customers_ : float
        Customers in all cohorts used (sum of the period-0 counts).
    counts_ : DataFrame
        The counts fitted: rows = periods, one column per cohort (trailing NaN = censored).
    period : str
        ``"year"`` or ``"month"``.
    """

    error = CalibrationError

    def __init__(self, *, alpha, beta, cov, loglik, period, counts, rows_used, rows_dropped, data):
        self.alpha_ = alpha
        self.beta_ = beta
        self.params_ = pd.Series([alpha, beta], index=_NAMES, name="estimate")
        self.cov_ = pd.DataFrame(cov, index=_NAMES, columns=_NAMES)
        self.se_ = pd.Series(np.sqrt(np.diag(cov)), index=_NAMES, name="se")
        self.loglik_ = float(loglik)
        self.period = period
        self.counts_ = counts
        self.n_periods_ = int(len(counts.index) - 1)
        self.n_cohorts_ = int(counts.shape[1])
        self.n_customers_ = float(counts.iloc[0].sum())
        self.rows_used_ = rows_used
        self.rows_dropped_ = rows_dropped
        self._data = data

    # -- the model ------------------------------------------------------------------------
    def survival(self, t):
        """Share of a fresh cohort active at ``t``: ``S(t) = B(alpha, beta+t) / B(alpha, beta)``.

        Accepts a scalar (returns a float) or an array of periods ``t >= 0``.
        """
        t = _periods(t, minimum=0)
        out = np.exp(
            special.betaln(self.alpha_, self.beta_ + t) - special.betaln(self.alpha_, self.beta_)
        )
        return out if out.ndim else float(out)

    def retention(self, t):
        """Retention rate ``r(t) = S(t)/S(t-1) = (beta + t - 1)/(alpha + beta + t - 1)``, t >= 1."""
        t = _periods(t, minimum=1)
        out = (self.beta_ + t - 1) / (self.alpha_ + self.beta_ + t - 1)
        return out if out.ndim else float(out)

    def churn(self, t):
        """Churn rate in period ``t >= 1`` among those active at ``t - 1``.

        ``churn(t) = P(T = t | T >= t) = 1 - r(t) = alpha / (alpha + beta + t - 1)``
        (Fader & Hardie 2007, eq. 8); ``churn(1) = alpha/(alpha + beta)`` is the mean churn
        probability of a fresh cohort, and the rate falls with tenure as the
        likely churners leave.
        """
        t = _periods(t, minimum=1)
        out = self.alpha_ / (self.alpha_ + self.beta_ + t - 1)
        return out if out.ndim else float(out)

    # -- inference ------------------------------------------------------------------------
    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Wald intervals on the log scale, ``exp(log(est) ± z·se/est)``: always positive.

        The log scale is where the likelihood is closest to quadratic for these positive
        shape parameters, so these intervals also cover better than ``est ± z·se``.
        """
        z = stats.norm.ppf(0.5 + check_level(level, self.error) / 2)
        spread = z * self.se_ / self.params_
        return pd.DataFrame(
            {"lower": self.params_ * np.exp(-spread), "upper": self.params_ * np.exp(spread)},
            index=_NAMES,
        )

    @property
    def corr_(self) -> float:
        """Correlation of the two estimates (from ``cov_``)."""
        c = self.cov_.to_numpy()
        return float(c[0, 1] / np.sqrt(c[0, 0] * c[1, 1]))

    # -- reporting ------------------------------------------------------------------------
    def summary(self) -> Report:
        """Estimates, standard errors, 95% intervals and the fit's size; prints as text."""
        return Report(
            "Shifted-beta-geometric retention fit (Fader & Hardie 2007)",
            [
                f"period: {self.period}    cohorts: {self.n_cohorts_}    "
                f"customers: {self.n_customers_:,.0f}    periods observed: {self.n_periods_}",
                f"log-likelihood: {self.loglik_:.3f}    corr(alpha, beta): {self.corr_:.3f}",
                f"mean churn probability alpha/(alpha+beta): {self.churn(1):.4f}",
            ],
            [FixedTable("", estimate_table(self))],
        )

    def plot(self, ax=None, horizon: int | None = None):
        """Observed vs fitted survival; the projection beyond the data is dashed.

        Parameters
        ----------
        ax : matplotlib Axes, optional
        horizon : int, optional
            Last period projected (default twice the observed periods).

        Returns
        -------
        Axes
        """
        from cxsim.outputs.plotting import axes_or_new, legend

        ax = axes_or_new(ax)
        n = self.n_periods_
        horizon = max(int(horizon if horizon is not None else 2 * n), n)
        shares = self.counts_ / self.counts_.iloc[0]
        for name in shares.columns:
            ax.plot(shares.index, shares[name], "o", ms=4, label=f"observed {name}")
        inside = np.arange(n + 1)
        beyond = np.arange(n, horizon + 1)
        ax.plot(inside, self.survival(inside), "-", color="black", label="sBG fit")
        ax.plot(beyond, self.survival(beyond), "--", color="black", label="sBG projection")
        ax.set(
            xlabel=f"{self.period}s since acquisition", ylabel="share still active", ylim=(0, 1.02)
        )
        legend(ax)
        return ax

    # -- export ---------------------------------------------------------------------------
    def sbg_block(self) -> dict[str, Any]:
        """The scenario's ``sbg`` block with point estimates."""
        return {"alpha": self.alpha_, "beta": self.beta_, "period": self.period}

    def to_yaml(
        self,
        path: str | os.PathLike[str],
        segment: str,
        uncertain: bool = True,
        data_file: str | os.PathLike[str] | None = None,
    ):
        """Write a calibration file setting ``segments.<segment>.sbg``.

        With ``uncertain=True`` alpha and beta are lognormal distributions (mean = estimate,
        sd = standard error) and a ``correlations`` entry carries the correlation of the two
        estimates. The scenario format asks for a rank correlation; the Pearson correlation
        of the estimates (from ``cov_``) is written as ``rho``, an approximation.

        Parameters
        ----------
        path : path-like
            YAML file to write.
        segment : str
            Segment name in the scenario.
        uncertain : bool
            Write distributions (True) or point estimates (False).
        data_file : path-like, optional
            The data file fitted; its SHA-256 goes into the provenance. Without it, the hash
            of the data passed to :func:`fit_sbg` is recorded.

        Returns
        -------
        pathlib.Path
        """
        if uncertain:
            block = {
                name: {"dist": "lognormal", "mean": self.params_[name], "sd": self.se_[name]}
                for name in _NAMES
            }
            block["period"] = self.period
            fragment: dict[str, Any] = {"segments": {segment: {"sbg": block}}}
            fragment["correlations"] = [
                {
                    "between": [f"segments.{segment}.sbg.alpha", f"segments.{segment}.sbg.beta"],
                    "rho": self.corr_,
                }
            ]
        else:
            fragment = {"segments": {segment: {"sbg": self.sbg_block()}}}
        ci = self.conf_int()
        record = provenance(
            method=METHOD,
            rows_used=self.rows_used_,
            rows_dropped=self.rows_dropped_,
            data_file=data_file,
            data_sha256=None if data_file is not None else frame_sha256(_as_frame(self._data)),
            period=self.period,
            cohorts=[str(c) for c in self.counts_.columns],
            customers=self.n_customers_,
            periods_observed=self.n_periods_,
            loglik=self.loglik_,
            estimates={n: self.params_[n] for n in _NAMES},
            se={n: self.se_[n] for n in _NAMES},
            conf_int_95={n: [ci.loc[n, "lower"], ci.loc[n, "upper"]] for n in _NAMES},
            correlation=self.corr_,
        )
        header = f"sBG retention calibration for segment {segment!r}"
        return write_calibration(path, fragment, f"sbg_{segment}", record, header=header)


def _as_frame(data) -> pd.DataFrame:
    return data.to_frame() if isinstance(data, pd.Series) else data


def _periods(t, minimum: int) -> np.ndarray:
    t = np.asarray(t, dtype=float)
    if np.any(t < minimum) or not np.all(np.isfinite(t)):
        raise CalibrationError(f"periods must be finite and >= {minimum}, got {t.tolist()}")
    return t
