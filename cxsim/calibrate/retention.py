"""Retention data → shifted-beta-geometric (sBG) ``alpha``, ``beta`` by maximum likelihood.

Each customer churns at the end of a period with a constant probability ``theta``; ``theta``
varies across customers as Beta(alpha, beta). The number of periods ``T`` a customer stays
then has (Fader & Hardie 2007, eqs. 5–8)::

    P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta),   t = 1, 2, ...
    S(t)     = P(T > t) = B(alpha, beta + t) / B(alpha, beta)
    r(t)     = S(t) / S(t - 1) = (beta + t - 1) / (alpha + beta + t - 1)

Two layouts of data are fitted:

- **Cohorts** followed from acquisition: a cohort observed at periods ``0..n`` contributes
  ``P(T = t)`` for every customer lost in period ``t`` and ``S(n)`` for every customer still
  active at ``n`` (right-censored). Cohorts observed for different lengths share ``alpha`` and
  ``beta`` and their log-likelihoods add up (the multi-cohort extension in the paper's
  appendix).
- **A snapshot**: one row per customer with the periods ``t`` completed when the observed
  period began and whether they left during it. Such a customer is observed only because
  ``T > t`` (left truncation), so they contribute
  ``P(T = t + 1 | T > t) = S(t)·churn / S(t) = alpha / (alpha + beta + t)`` if they left and
  ``(beta + t) / (alpha + beta + t)`` if they stayed.

The likelihood and its χ² test are in :mod:`cxsim.calibrate.sbg`, the result in
:mod:`cxsim.calibrate.retention_result`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from cxsim.calibrate.cohorts import cohort_counts, cohorts_from_frame, observed_lengths
from cxsim.calibrate.retention_result import SBGResult
from cxsim.calibrate.sbg import cohort_terms, estimate, hazard_terms
from cxsim.calibrate.snapshot import snapshot_table
from cxsim.errors import CalibrationError
from cxsim.scenario.schema import PERIOD_MONTHS

__all__ = ["SBGResult", "check_period", "cohorts_from_frame", "fit_sbg"]

PERIODS = tuple(PERIOD_MONTHS)


def fit_sbg(
    active: Any,
    period: str | int | None = None,
    *,
    n0: float | Sequence[float] | None = None,
    cohorts: Sequence[Any] | None = None,
    cohort_col: str | None = "cohort",
    period_col: str | None = None,
    count_col: str | None = None,
    tenure: str | None = None,
    churned: str | None = None,
    weights: str | None = None,
    tenure_counts_current: bool = False,
) -> SBGResult:
    """Fit the shifted-beta-geometric retention model to cohorts or to a snapshot.

    Parameters
    ----------
    active : array-like, Series, list of sequences or DataFrame
        **Cohorts**: customers of a cohort still active at periods ``0, 1, ..., n``
        (``active[0]`` is the initial size). A 1-D sequence or Series is one cohort. Several
        cohorts: a DataFrame or a 2-D array with rows = periods and one column per cohort, or
        a list with one sequence per cohort. A cohort observed for fewer periods ends in NaN
        (right-censored: "not yet observed"); NaN anywhere else is an error. A long table
        (one row per cohort and period) is read when ``count_col`` is given; see
        :func:`cohorts_from_frame`. **A snapshot** (``tenure=`` and ``churned=``): a
        DataFrame with one row per customer.
    period : {"month", "quarter", "year"} or int
        Length of one period, or a whole number of months (``3`` is ``"quarter"``, ``12``
        ``"year"``); written into the ``sbg`` block, which the scenario converts to monthly
        churn class by class (docs/model.md §1). Cohorts default to ``"year"``; a snapshot
        must say what its tenure counts.
    n0 : float or sequence of float, optional
        Cohort size(s) when ``active`` holds shares (1.0 at period 0). The likelihood needs
        counts, so shares without ``n0`` are refused rather than given an invented size.
    cohorts : sequence, optional
        Labels for the cohorts of a 2-D array or list of sequences.
    cohort_col, period_col, count_col : str, optional
        Column names of a long cohort table; giving ``count_col`` selects the long format
        (``period_col`` defaults to the period's name, e.g. ``"year"``; ``cohort_col=None``
        for a single cohort).
    tenure, churned : str, optional
        Columns of a snapshot (give both): ``tenure`` the whole periods a customer had
        completed when the observed period began, ``churned`` whether they left during it
        (0/1, or yes/no, true/false in any case).
    weights : str, optional
        Snapshot column with the number of customers a row stands for (an aggregated
        snapshot); standard errors treat them as counts.
    tenure_counts_current : bool
        Snapshot tenure counts the observed period too (a customer in their first period has
        tenure 1, as in IBM's telco table): ``tenure - 1`` periods were completed, and rows
        with tenure 0 (joined during the observed period) are left out.

    Returns
    -------
    SBGResult
        Estimates, standard errors (inverse observed information), ``conf_int()``, the χ²
        goodness-of-fit test ``gof_``, ``summary()``, ``plot()`` and ``to_yaml()``.

    Raises
    ------
    CalibrationError
        Cohorts: counts that increase, are negative or non-finite, NaN before the end of a
        series, fewer than two periods of churn, shares without ``n0``. Snapshots: every bad
        cell at once (``FILE:LINE: column: message (got VALUE)``), no churner or no stayer, a
        single tenure. Either: no churn at all or a likelihood that does not converge.

    Notes
    -----
    The negative log-likelihood is minimised over ``log alpha, log beta`` (trust-region
    Newton with the analytic gradient and Hessian, from a start that fits
    ``1/churn = 1 + (beta + t)/alpha`` to two halves of the data). The covariance is the
    inverse of the observed information on the ``alpha, beta`` scale; at the maximum this
    equals the delta-method transform of the log-scale covariance. A snapshot's likelihood
    conditions on survival to each customer's tenure (left truncation): it assumes the
    customers of every tenure were acquired from the same Beta(alpha, beta) mix. The χ² test
    (:func:`cxsim.calibrate.sbg.chi_square`) compares churners observed and expected by
    period (cohorts) or tenure band (snapshots); the summary warns when ``p < 0.05``.

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

    The same customers as a snapshot of the first two years: 631 of year 1's 1,000 stayed,
    468 of year 2's 631.

    >>> snapshot = pd.DataFrame({"tenure": [0, 0, 1, 1], "left": ["yes", "no", "yes", "no"],
    ...                          "n": [369, 631, 163, 468]})
    >>> fit = fit_sbg(snapshot, "year", tenure="tenure", churned="left", weights="n")
    >>> round(fit.churn(1), 3), round(fit.churn(2), 3)
    (0.369, 0.258)
    """
    snapshot = tenure is not None or churned is not None
    if snapshot:
        return _fit_snapshot(
            active,
            period,
            tenure=tenure,
            churned=churned,
            weights=weights,
            tenure_counts_current=tenure_counts_current,
            cohort_args={
                "n0": n0,
                "cohorts": cohorts,
                "period_col": period_col,
                "count_col": count_col,
            },
        )
    if weights is not None or tenure_counts_current:
        raise CalibrationError(
            "weights= and tenure_counts_current= belong to a snapshot: give tenure= and "
            "churned= too"
        )
    period = check_period("year" if period is None else period)
    counts, labels, original = cohort_counts(
        active,
        n0=n0,
        cohorts=cohorts,
        cohort_col=cohort_col,
        period_col=period_col or (period if isinstance(period, str) else "period"),
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
    terms = cohort_terms(counts, lengths)
    if terms.w[terms.p == 1].sum() <= 0:
        raise CalibrationError(
            "no churn events: every customer is still active at the last observed period, "
            "so alpha and beta cannot be estimated"
        )
    by_tenure = _cohort_hazards(counts)
    alpha, beta, cov, loglik = estimate(terms, _columns(by_tenure))
    return SBGResult(
        alpha=alpha,
        beta=beta,
        cov=cov,
        loglik=loglik,
        period=period,
        by_tenure=by_tenure,
        counts=pd.DataFrame(counts, columns=labels),
        rows_used=int(lengths.sum() + lengths.size),
        rows_dropped=rows_dropped,
        data=original,
    )


def check_period(period: Any) -> str | int:
    """``"month"``, ``"quarter"``, ``"year"`` or a whole number of months ≥ 1, named when it
    has a name (3 → ``"quarter"``), as the scenario's ``sbg.period`` accepts it."""
    if isinstance(period, str) and period in PERIOD_MONTHS:
        return period
    if isinstance(period, int | float | np.integer) and not isinstance(period, bool):
        if np.isfinite(period) and period >= 1 and float(period).is_integer():
            named = {m: name for name, m in PERIOD_MONTHS.items()}
            return named.get(int(period), int(period))
    raise CalibrationError(
        f"period must be one of {PERIODS} or a whole number of months (e.g. 3), got {period!r}"
    )


def _fit_snapshot(
    frame, period, *, tenure, churned, weights, tenure_counts_current, cohort_args
) -> SBGResult:
    if tenure is None or churned is None:
        raise CalibrationError("a snapshot needs both tenure= and churned= (column names)")
    given = [k for k, v in cohort_args.items() if v is not None]
    if given:
        raise CalibrationError(
            f"{', '.join(f'{k}=' for k in given)} belong(s) to cohort tables, not to a "
            "snapshot (tenure=, churned=)"
        )
    if period is None:
        raise CalibrationError(
            'a snapshot needs period= ("month", "quarter", "year" or a number of '
            "months): the unit its tenure counts"
        )
    period = check_period(period)
    snap = snapshot_table(
        frame, tenure, churned, weights=weights, tenure_counts_current=tenure_counts_current
    )
    by_tenure = snap.table
    columns = _columns(by_tenure)
    alpha, beta, cov, loglik = estimate(hazard_terms(*columns), columns)
    used = [c for c in (tenure, churned, weights) if c is not None]
    return SBGResult(
        alpha=alpha,
        beta=beta,
        cov=cov,
        loglik=loglik,
        period=period,
        by_tenure=by_tenure,
        rows_used=snap.rows_used,
        rows_dropped=snap.rows_dropped,
        data=frame[used],
        notes=snap.notes,
        settings={
            "tenure": tenure,
            "churned": churned,
            "weights": weights,
            "tenure_counts_current": bool(tenure_counts_current),
        },
    )


def _cohort_hazards(counts: np.ndarray) -> pd.DataFrame:
    """Customers at risk and churners by tenure t (period t + 1), pooled over the cohorts
    observed in that period."""
    seen = ~np.isnan(counts[1:])  # (period, cohort): the cohort is observed at period t + 1
    at_risk = np.where(seen, counts[:-1], 0.0).sum(axis=1)
    lost = np.where(seen, counts[:-1] - counts[1:], 0.0).sum(axis=1)
    table = pd.DataFrame({"at_risk": at_risk, "churned": lost})
    table.index.name = "tenure"
    return table


def _columns(by_tenure: pd.DataFrame):
    return (
        by_tenure.index.to_numpy(dtype=float),
        by_tenure["at_risk"].to_numpy(dtype=float),
        by_tenure["churned"].to_numpy(dtype=float),
    )
