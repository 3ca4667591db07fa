"""The fitted shifted-beta-geometric model: estimates, the churn curve, its χ² test, export.

:func:`~cxsim.calibrate.retention.fit_sbg` returns an :class:`SBGResult` for both data layouts
(cohorts followed from acquisition, or a snapshot of customers at any tenure). Both are
summarised the same way: customers at risk and churners by tenure, which is what the χ²
goodness-of-fit test (:func:`cxsim.calibrate.sbg.chi_square`) compares with the fit.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from cxsim.calibrate.files import frame_sha256, provenance, write_calibration
from cxsim.calibrate.reporting import FixedTable, estimate_table
from cxsim.calibrate.sbg import GOF_LEVEL, chi_square
from cxsim.errors import CalibrationError
from cxsim.outputs.fitted import FitResult, Report, Table, check_level
from cxsim.scenario.schema import months_per_period

__all__ = ["SBGResult", "period_label"]

METHOD = "sBG maximum likelihood (Fader & Hardie 2007)"
SNAPSHOT_METHOD = "sBG maximum likelihood, left-truncated snapshot (Fader & Hardie 2007)"
_NAMES = ["alpha", "beta"]


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
    layout_ : str
        ``"cohorts"`` or ``"snapshot"``.
    by_tenure_ : DataFrame
        Index ``tenure`` (periods completed when a period began), columns ``at_risk``,
        ``churned`` and ``expected`` (churners the fit expects). For cohorts, tenure ``t``
        is period ``t + 1`` since acquisition.
    gof_ : ChiSquare
        The χ² goodness-of-fit test (``statistic``, ``df``, ``pvalue``, ``passed``, ``table``
        of bands: periods for cohorts, tenures for snapshots).
    n_periods_ : int
        Cohorts: the longest observed cohort, in periods after period 0. Snapshots: the
        highest period observed (largest tenure + 1).
    n_customers_ : float
        Customers in the fit (cohorts: the period-0 counts; snapshots: the customers at risk).
    n_cohorts_ : int or None
        Cohorts fitted (None for a snapshot).
    counts_ : DataFrame or None
        Cohorts: the counts fitted, rows = periods, one column per cohort (trailing NaN =
        censored). None for a snapshot.
    period : str or int
        ``"month"``, ``"quarter"``, ``"year"`` or a whole number of months.
    notes : list of str
        What the reader should know: rows left out, and a warning when the χ² test fails.
    """

    error = CalibrationError

    def __init__(
        self,
        *,
        alpha,
        beta,
        cov,
        loglik,
        period,
        by_tenure,
        rows_used,
        rows_dropped,
        data,
        counts=None,
        notes=None,
        settings=None,
    ):
        self.alpha_ = alpha
        self.beta_ = beta
        self.params_ = pd.Series([alpha, beta], index=_NAMES, name="estimate")
        self.cov_ = pd.DataFrame(cov, index=_NAMES, columns=_NAMES)
        self.se_ = pd.Series(np.sqrt(np.diag(cov)), index=_NAMES, name="se")
        self.loglik_ = float(loglik)
        self.period = period
        self.layout_ = "cohorts" if counts is not None else "snapshot"
        self.counts_ = counts
        tenure = by_tenure.index.to_numpy()
        self.by_tenure_ = by_tenure.assign(expected=by_tenure["at_risk"] * self.churn(tenure + 1))
        cohorts = self.layout_ == "cohorts"
        self.gof_ = chi_square(
            tenure + 1 if cohorts else tenure,
            by_tenure["at_risk"].to_numpy(),
            by_tenure["churned"].to_numpy(),
            self.churn(tenure + 1),
        )
        self.n_periods_ = int(len(counts.index) - 1) if cohorts else int(tenure.max() + 1)
        self.n_cohorts_ = int(counts.shape[1]) if cohorts else None
        self.n_customers_ = float(counts.iloc[0].sum() if cohorts else by_tenure["at_risk"].sum())
        self.rows_used_ = rows_used
        self.rows_dropped_ = rows_dropped
        self.notes = list(notes or [])
        if self.gof_.passed is False:
            self.notes.append(self._misfit_note())
        self._settings = dict(settings or {})
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
        likely churners leave. A customer with tenure ``t`` (periods completed) churns in
        the next period with probability ``churn(t + 1)``.
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
    def summary(self, max_bands: int = 15) -> Report:
        """Estimates, intervals, the fit's size and its χ² test; prints as text.

        The table of churners shows the χ² bands, merged into at most ``max_bands`` rows
        (``gof_.table`` holds every band).
        """
        if self.layout_ == "cohorts":
            size = (
                f"cohorts: {self.n_cohorts_}    customers: {self.n_customers_:,.0f}    "
                f"periods observed: {self.n_periods_}"
            )
            caption = "Churners by period since acquisition"
        else:
            churners = self.by_tenure_["churned"].sum()
            size = (
                f"snapshot, tenure 0–{self.n_periods_ - 1}    customers: "
                f"{self.n_customers_:,.0f}    churned: {churners:,.0f} "
                f"({churners / self.n_customers_:.1%})"
            )
            caption = "Churners by tenure (periods completed)"
        bands = self._bands(max_bands)
        shown = len(bands)
        merged = "" if shown == len(self.gof_.table) else f" merged into {shown} rows"
        caption += f", χ² bands{merged}"
        return Report(
            "Shifted-beta-geometric retention fit (Fader & Hardie 2007)",
            [
                f"period: {period_label(self.period)}    {size}",
                f"log-likelihood: {self.loglik_:.3f}    corr(alpha, beta): {self.corr_:.3f}",
                f"mean churn probability alpha/(alpha+beta): {self.churn(1):.4f}",
                self.gof_.line(),
            ],
            [FixedTable("", estimate_table(self)), Table(caption, bands, index=False)],
            list(self.notes),
        )

    def _bands(self, max_rows: int) -> pd.DataFrame:
        """The χ² bands as printed: neighbours merged into at most ``max_rows`` rows, counts
        without decimals unless weights make them fractional."""
        table = self.gof_.table
        groups = np.array_split(np.arange(len(table)), min(max(max_rows, 1), len(table)))
        table = pd.DataFrame(
            [
                {
                    "first": table["first"].iloc[g[0]],
                    "last": table["last"].iloc[g[-1]],
                    **table.iloc[g][["at_risk", "churned", "expected", "variance"]].sum(),
                }
                for g in groups
            ]
        )

        def count(v: float) -> str:
            return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}"

        z = (table["churned"] - table["expected"]) / np.sqrt(table["variance"])
        return pd.DataFrame(
            {
                "period" if self.layout_ == "cohorts" else "tenure": _spans(table),
                "at risk": [count(v) for v in table["at_risk"]],
                "churned": [count(v) for v in table["churned"]],
                "expected": [f"{v:,.1f}" for v in table["expected"]],
                "z": [f"{v:+.2f}" for v in z],
            }
        )

    def _misfit_note(self) -> str:
        gof = self.gof_
        worst = gof.table.loc[gof.table["z"].abs().idxmax()]
        name = "period" if self.layout_ == "cohorts" else "tenure"
        return (
            f"Warning: the χ² test rejects the sBG (χ² = {gof.statistic:.2f} on {gof.df} df, "
            f"p = {gof.pvalue:.3g} < {GOF_LEVEL}); the largest departure is at {name} "
            f"{_spans(gof.table.loc[[worst.name]])[0]}: {worst['churned']:,.0f} churners "
            f"observed, {worst['expected']:,.1f} expected. The sBG's churn falls with tenure as "
            "alpha/(alpha+beta+t). Churn that does not fall like that suggests non-contractual "
            "data (no observed 'leave' event: the sBG is the wrong model) or a time pattern "
            "such as contract ends or price changes; churn that falls faster early and then "
            "flattens suggests customers differ more than one beta allows (fit segments "
            "separately). Read projections with care."
        )

    def plot(self, ax=None, horizon: int | None = None):
        """Cohorts: observed vs fitted survival, the projection beyond the data dashed.
        Snapshots: churn rate by tenure, observed (per χ² band) and fitted.

        Parameters
        ----------
        ax : matplotlib Axes, optional
        horizon : int, optional
            Last period drawn (default twice the observed periods).

        Returns
        -------
        Axes
        """
        from cxsim.outputs.plotting import axes_or_new, legend

        ax = axes_or_new(ax)
        n = self.n_periods_
        horizon = max(int(horizon if horizon is not None else 2 * n), n)
        unit = period_label(self.period)
        if self.counts_ is None:
            data, bands = self.by_tenure_, self.gof_.table
            mean_t = [
                np.average(data.loc[a:b].index, weights=data.loc[a:b, "at_risk"])
                for a, b in zip(bands["first"], bands["last"], strict=True)
            ]
            ax.plot(mean_t, bands["churned"] / bands["at_risk"], "o", ms=4, label="observed")
            inside, beyond = np.arange(n), np.arange(n - 1, horizon)
            ax.plot(inside, self.churn(inside + 1), "-", color="black", label="sBG fit")
            ax.plot(beyond, self.churn(beyond + 1), "--", color="black", label="sBG projection")
            ax.set(xlabel=f"tenure ({unit}s completed)", ylabel=f"churn in the next {unit}")
            ax.set_ylim(bottom=0)
        else:
            shares = self.counts_ / self.counts_.iloc[0]
            for name in shares.columns:
                ax.plot(shares.index, shares[name], "o", ms=4, label=f"observed {name}")
            inside = np.arange(n + 1)
            beyond = np.arange(n, horizon + 1)
            ax.plot(inside, self.survival(inside), "-", color="black", label="sBG fit")
            ax.plot(beyond, self.survival(beyond), "--", color="black", label="sBG projection")
            ax.set(xlabel=f"{unit}s since acquisition", ylabel="share still active", ylim=(0, 1.02))
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
        of the estimates (from ``cov_``) is written as ``rho``, an approximation. The
        provenance records the χ² test.

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
            of the data passed to :func:`~cxsim.calibrate.retention.fit_sbg` is recorded.

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
        if self.counts_ is not None:
            layout: dict[str, Any] = {
                "cohorts": [str(c) for c in self.counts_.columns],
                "periods_observed": self.n_periods_,
            }
        else:
            layout = {"layout": "snapshot", **self._settings, "tenure_max": self.n_periods_ - 1}
        gof = self.gof_
        record = provenance(
            method=METHOD if self.counts_ is not None else SNAPSHOT_METHOD,
            rows_used=self.rows_used_,
            rows_dropped=self.rows_dropped_,
            data_file=data_file,
            data_sha256=None if data_file is not None else frame_sha256(_as_frame(self._data)),
            period=self.period,
            **layout,
            customers=self.n_customers_,
            loglik=self.loglik_,
            estimates={n: self.params_[n] for n in _NAMES},
            se={n: self.se_[n] for n in _NAMES},
            conf_int_95={n: [ci.loc[n, "lower"], ci.loc[n, "upper"]] for n in _NAMES},
            correlation=self.corr_,
            goodness_of_fit={
                "chi2": gof.statistic,
                "df": gof.df,
                "p_value": None if gof.df < 1 else gof.pvalue,
                "bands": len(gof.table),
            },
            notes=self.notes,
        )
        header = f"sBG retention calibration for segment {segment!r}"
        return write_calibration(path, fragment, f"sbg_{segment}", record, header=header)

    def __repr__(self) -> str:
        return (
            f"SBGResult(alpha={self.alpha_:.4g}, beta={self.beta_:.4g}, "
            f"period={self.period!r}, layout={self.layout_!r})"
        )


def period_label(period: str | int) -> str:
    """``"month"``, ``"quarter"``, ``"year"``, or ``"6-month period"`` for a number of months."""
    return period if isinstance(period, str) else f"{months_per_period(period)}-month period"


def _spans(table: pd.DataFrame) -> list[str]:
    """Band labels: ``"3"`` or ``"3–5"``."""
    return [
        f"{a:.0f}" if a == b else f"{a:.0f}–{b:.0f}"
        for a, b in zip(table["first"], table["last"], strict=True)
    ]


def _as_frame(data) -> pd.DataFrame:
    return data.to_frame() if isinstance(data, pd.Series) else data


def _periods(t, minimum: int) -> np.ndarray:
    t = np.asarray(t, dtype=float)
    if np.any(t < minimum) or not np.all(np.isfinite(t)):
        raise CalibrationError(f"periods must be finite and >= {minimum}, got {t.tolist()}")
    return t
