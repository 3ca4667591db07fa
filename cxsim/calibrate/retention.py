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
from scipy import optimize, special, stats

from cxsim.calibrate.files import frame_sha256, provenance, write_calibration
from cxsim.errors import CalibrationError

__all__ = ["SBGResult", "cohorts_from_frame", "fit_sbg"]

METHOD = "sBG maximum likelihood (Fader & Hardie 2007)"
PERIODS = ("month", "year")
_NAMES = ["alpha", "beta"]
# NOTE: beyond e^11.5 ≈ 1e5 (or below e^-11.5) the likelihood is flat: the fit is running off
# to a limit (no heterogeneity, or churn-at-once) rather than converging.
_LOG_LIMIT = 11.5


def cohorts_from_frame(
    frame: pd.DataFrame,
    cohort_col: str | None = "cohort",
    period_col: str = "year",
    count_col: str = "active",
) -> pd.DataFrame:
    """Reshape a long table of cohort counts into one column per cohort.

    Parameters
    ----------
    frame : DataFrame
        One row per cohort and period, e.g. columns ``cohort, year, active``.
    cohort_col : str or None
        Column naming the cohort; ``None`` for a single cohort.
    period_col : str
        Column with the period since acquisition, integers ``0, 1, 2, ...`` without gaps
        (period 0 holds the cohort's initial size).
    count_col : str
        Column with the number of customers still active.

    Returns
    -------
    DataFrame
        Rows = periods ``0..n``, one column per cohort; a cohort observed for fewer periods
        than the oldest has trailing NaN (not yet observed).

    Examples
    --------
    >>> long = pd.DataFrame({"cohort": [2020, 2020, 2020, 2021, 2021],
    ...                      "year": [0, 1, 2, 0, 1], "active": [100, 80, 70, 90, 75]})
    >>> cohorts_from_frame(long).shape
    (3, 2)
    """
    if not isinstance(frame, pd.DataFrame):
        raise CalibrationError("cohorts_from_frame: `frame` must be a pandas DataFrame")
    wanted = [c for c in (cohort_col, period_col, count_col) if c is not None]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise CalibrationError(
            f"cohort table is missing column(s) {missing}; it has {list(frame.columns)} "
            "(name them with cohort_col=, period_col=, count_col=)"
        )
    data = frame[wanted].copy()
    if cohort_col is None:
        cohort_col = "__cohort__"
        data[cohort_col] = "cohort"
    periods = pd.to_numeric(data[period_col], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(periods) | (periods < 0) | (periods != np.round(periods))
    if bad.any():
        raise CalibrationError(
            f"column {period_col!r} must hold whole periods 0, 1, 2, ...; {int(bad.sum())} "
            f"bad value(s), first at row(s) {list(frame.index[bad][:5])}"
        )
    data[period_col] = periods.astype(int)
    counts = pd.to_numeric(data[count_col], errors="coerce")
    if counts.isna().any():
        rows = list(frame.index[counts.isna().to_numpy()][:5])
        raise CalibrationError(
            f"column {count_col!r} has {int(counts.isna().sum())} missing or non-numeric "
            f"value(s), first at row(s) {rows}"
        )
    data[count_col] = counts.astype(float)
    dup = data.duplicated([cohort_col, period_col])
    if dup.any():
        raise CalibrationError(
            f"duplicate (cohort, period) rows, first at row(s) {list(frame.index[dup][:5])}"
        )
    columns = {}
    for name, group in data.groupby(cohort_col, sort=True):
        seen = np.sort(group[period_col].to_numpy())
        expected = np.arange(seen.size)
        if not np.array_equal(seen, expected):
            gap = int(expected[np.argmax(seen != expected)])
            raise CalibrationError(
                f"cohort {name!r}: period {gap} is missing (periods must run 0, 1, 2, ... "
                "without gaps; period 0 is the cohort's initial size)"
            )
        columns[name] = group.set_index(period_col)[count_col].sort_index()
    wide = pd.DataFrame(columns)
    wide.index.name = period_col
    return wide


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
    if count_col is not None:
        original = active
        if not isinstance(active, pd.DataFrame):
            raise CalibrationError("count_col= needs `active` to be a long-format DataFrame")
        wide = cohorts_from_frame(active, cohort_col, period_col or period, count_col)
        labels = [str(c) for c in wide.columns]
        values = wide.to_numpy(dtype=float)
    else:
        values, labels, original = _as_matrix(active, cohorts)
    counts = _validate(values, labels, n0)
    lengths = _observed_lengths(counts)
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
    terms = _likelihood_terms(counts, lengths)
    if terms[2][terms[0] == 1].sum() <= 0:
        raise CalibrationError(
            "no churn events: every customer is still active at the last observed period, "
            "so alpha and beta cannot be estimated"
        )
    log_params, loglik = _maximise(terms, counts)
    alpha, beta = np.exp(log_params)
    info = -_hessian(alpha, beta, terms)
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


class SBGResult:
    """A fitted shifted-beta-geometric retention model.

    Attributes
    ----------
    alpha_, beta_ : float
        Maximum-likelihood estimates.
    params_ : Series
        The two estimates indexed ``alpha``, ``beta``.
    se_ : Series
        Standard errors (square roots of the diagonal of ``cov_``).
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
        if not 0 < level < 1:
            raise CalibrationError(f"level must lie in (0, 1), got {level!r}")
        z = stats.norm.ppf(0.5 + level / 2)
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
    def _table(self) -> pd.DataFrame:
        ci = self.conf_int()
        return pd.DataFrame(
            {
                "estimate": self.params_,
                "se": self.se_,
                "lower 95%": ci["lower"],
                "upper 95%": ci["upper"],
            }
        )

    def _header(self) -> list[str]:
        return [
            f"period: {self.period}    cohorts: {self.n_cohorts_}    "
            f"customers: {self.n_customers_:,.0f}    periods observed: {self.n_periods_}",
            f"log-likelihood: {self.loglik_:.3f}    corr(alpha, beta): {self.corr_:.3f}",
            f"mean churn probability alpha/(alpha+beta): {self.churn(1):.4f}",
        ]

    def summary(self) -> str:
        """A text table: estimates, standard errors, 95% intervals and the fit's size."""
        title = "Shifted-beta-geometric retention fit (Fader & Hardie 2007)"
        table = self._table().to_string(float_format=lambda v: f"{v:.4f}")
        return "\n".join([title, "=" * len(title), *self._header(), "", table])

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        head = "<br>".join(self._header())
        return (
            "<b>Shifted-beta-geometric retention fit (Fader &amp; Hardie 2007)</b><br>"
            f"{head}{self._table().to_html(float_format=lambda v: f'{v:.4f}')}"
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
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
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
        ax.legend(fontsize="small")
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


# -- input handling -------------------------------------------------------------------------
def _as_matrix(active, cohorts):
    """Any accepted input → (values (period, cohort), labels, original data)."""
    if isinstance(active, pd.DataFrame):
        values, labels = _numeric(active), list(active.columns)
    elif isinstance(active, pd.Series):
        values = _numeric(active)[:, None]
        labels = [active.name if active.name is not None else "cohort"]
    elif (
        isinstance(active, (list, tuple))
        and len(active) > 0
        and all(np.ndim(x) == 1 for x in active)
    ):
        longest = max(len(x) for x in active)
        values = np.full((longest, len(active)), np.nan)
        for j, seq in enumerate(active):
            values[: len(seq), j] = _numeric(seq)
        labels = [f"cohort {j}" for j in range(len(active))]
    else:
        values = _numeric(active)
        if values.ndim == 1:
            values = values[:, None]
        if values.ndim != 2:
            raise CalibrationError(f"`active` must be 1-D or 2-D, got {values.ndim} dimensions")
        labels = (
            [f"cohort {j}" for j in range(values.shape[1])] if values.shape[1] > 1 else ["cohort"]
        )
    if cohorts is not None:
        if len(cohorts) != values.shape[1]:
            raise CalibrationError(
                f"cohorts= has {len(cohorts)} labels for {values.shape[1]} cohorts"
            )
        labels = list(cohorts)
    labels = [str(lab) for lab in labels]
    original = (
        active
        if isinstance(active, (pd.DataFrame, pd.Series))
        else pd.DataFrame(values, columns=labels)
    )
    return values, labels, original


def _numeric(x) -> np.ndarray:
    try:
        if isinstance(x, (pd.DataFrame, pd.Series)):
            return x.to_numpy(dtype=float, na_value=np.nan)
        return np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise CalibrationError(f"cohort counts must be numbers: {exc}") from None


def _as_frame(data) -> pd.DataFrame:
    return data.to_frame() if isinstance(data, pd.Series) else data


def _validate(values: np.ndarray, labels: list[str], n0) -> np.ndarray:
    """Check every cohort column; return counts (shares × n0 when n0 is given)."""
    if values.shape[0] == 0 or values.shape[1] == 0:
        raise CalibrationError("no cohort data: `active` is empty")
    finite_or_nan = np.isfinite(values) | np.isnan(values)
    if not finite_or_nan.all():
        p, j = np.argwhere(~finite_or_nan)[0]
        raise CalibrationError(f"cohort {labels[j]!r}: non-finite value at period {p}")
    for j, name in enumerate(labels):
        column = values[:, j]
        seen = ~np.isnan(column)
        if not seen[0]:
            raise CalibrationError(f"cohort {name!r}: period 0 (initial size) is NaN")
        n_seen = int(np.argmin(seen)) if not seen.all() else seen.size
        if seen[n_seen:].any():
            p = n_seen + int(np.argmax(seen[n_seen:]))
            raise CalibrationError(
                f"cohort {name!r}: NaN in the middle of the series (period {n_seen} is NaN "
                f"but period {p} is observed); NaN is allowed only as trailing not-yet-observed "
                "values"
            )
        obs = column[:n_seen]
        if (obs < 0).any():
            p = int(np.argmax(obs < 0))
            raise CalibrationError(f"cohort {name!r}: negative count {obs[p]:g} at period {p}")
        if obs[0] <= 0:
            raise CalibrationError(f"cohort {name!r}: initial size at period 0 is {obs[0]:g}")
        rise = np.diff(obs) > 1e-9 * obs[0]
        if rise.any():
            p = int(np.argmax(rise)) + 1
            raise CalibrationError(
                f"cohort {name!r}: active count increases from {obs[p - 1]:g} at period {p - 1} "
                f"to {obs[p]:g} at period {p}; a cohort can only shrink (new customers belong "
                "to a new cohort)"
            )
    looks_like_shares = np.nanmax(values) <= 1.0
    if n0 is None:
        if looks_like_shares:
            raise CalibrationError(
                "the data look like shares (all values <= 1): the likelihood needs counts, so "
                "pass the cohort size(s) as n0="
            )
        return values
    sizes = np.broadcast_to(np.asarray(n0, dtype=float), (values.shape[1],))
    if not looks_like_shares or not np.allclose(values[0], 1.0):
        raise CalibrationError(
            "n0= is given, so `active` must hold shares that start at 1.0 at period 0 "
            f"(got a maximum of {np.nanmax(values):g} and period-0 values {values[0].tolist()})"
        )
    if not (np.isfinite(sizes).all() and (sizes > 0).all()):
        raise CalibrationError(f"n0 must be positive cohort sizes, got {np.asarray(n0).tolist()}")
    return values * sizes


def _observed_lengths(counts: np.ndarray) -> np.ndarray:
    """Last observed period of each cohort (0 = only the initial size)."""
    return (~np.isnan(counts)).sum(axis=0) - 1


def _likelihood_terms(counts: np.ndarray, lengths: np.ndarray):
    """Pool all cohorts into weighted terms ``w·betaln(alpha + p, beta + q)``.

    Losses in period t (from every cohort observed at t) give p = 1, q = t - 1; customers
    still active at a cohort's last period n give p = 0, q = n.
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


def _hessian(alpha, beta, terms):
    p, q, w = terms
    total = w.sum()
    s = special.polygamma(1, alpha + beta + p + q)
    s0 = special.polygamma(1, alpha + beta)
    haa = w @ (special.polygamma(1, alpha + p) - s) - total * (special.polygamma(1, alpha) - s0)
    hbb = w @ (special.polygamma(1, beta + q) - s) - total * (special.polygamma(1, beta) - s0)
    hab = -(w @ s) + total * s0
    return np.array([[haa, hab], [hab, hbb]])


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


def _maximise(terms, counts):
    """Minimise the negative log-likelihood over (log alpha, log beta)."""
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
        return -(np.outer(x, x) * _hessian(x[0], x[1], terms) + np.diag(x * g))

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


def _periods(t, minimum: int) -> np.ndarray:
    t = np.asarray(t, dtype=float)
    if np.any(t < minimum) or not np.all(np.isfinite(t)):
        raise CalibrationError(f"periods must be finite and >= {minimum}, got {t.tolist()}")
    return t
