"""Cohort tables → a checked matrix of counts for the sBG fit (:mod:`cxsim.calibrate.retention`).

:func:`fit_sbg <cxsim.calibrate.retention.fit_sbg>` takes cohorts in many shapes: one
sequence, a Series, a wide DataFrame or 2-D array (rows = periods, one column per cohort), a
list of sequences of different lengths, or a long table (one row per cohort and period). This
module turns any of them into one matrix ``counts[period, cohort]`` with trailing NaN for
periods a cohort has not reached yet, and refuses data the likelihood cannot use, naming the
cohort and period at fault; a long table's problems come all at once, each as
``FILE:LINE: column: message (got VALUE)`` (:mod:`cxsim.calibrate.data`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from cxsim.calibrate.data import DataProblem, DataProblems, numeric_column, source_of, where
from cxsim.errors import CalibrationError

__all__ = ["cohort_counts", "cohorts_from_frame", "observed_lengths"]


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
            f"{source_of(frame)}: cohort table is missing column(s) {missing}; it has "
            f"{list(frame.columns)} (name them with cohort_col=, period_col=, count_col=)"
        )
    problems = DataProblems()
    periods = numeric_column(
        frame, period_col, problems, low=0, whole=True, allowed="whole periods 0, 1, 2, ..."
    )
    counts = numeric_column(frame, count_col, problems, low=0, allowed="a count of customers ≥ 0")
    cohort = (
        pd.Series("cohort", index=frame.index) if cohort_col is None else frame[cohort_col]
    ).to_numpy()
    data = pd.DataFrame({"cohort": cohort, "period": periods, "count": counts})
    data["position"] = np.arange(len(data))
    unnamed = pd.isna(data["cohort"]).to_numpy()
    for position in np.flatnonzero(unnamed):  # groupby would drop these rows unseen
        problems.add(
            DataProblem(where(frame, int(position)), cohort_col, "no cohort named", np.nan)
        )
    good = (periods >= 0) & (periods == np.round(periods)) & ~unnamed  # NaN is not good
    # a cohort with a bad period would also show gaps that are not there: check it no
    # further; a bad count (already reported) leaves its cohort's periods to be checked
    data = data[good & ~data["cohort"].isin(set(data.loc[~good, "cohort"]))]
    first = data.drop_duplicates(["cohort", "period"]).set_index(["cohort", "period"])
    for position in data.loc[data.duplicated(["cohort", "period"]), "position"]:
        earlier = first.loc[(cohort[position], periods[position]), "position"]
        problems.add(
            DataProblem(
                where(frame, int(position)),
                period_col,
                f"cohort {_plain(cohort[position])!r}: duplicate period (first at "
                f"{where(frame, int(earlier))})",
                frame[period_col].iloc[position],
                hint="one row per cohort and period",
            )
        )
    data = data.drop_duplicates(["cohort", "period"])
    columns = {}
    for key, group in data.groupby("cohort", sort=True):
        name = _plain(key)
        group = group.sort_values("period")
        seen = group["period"].to_numpy(dtype=int)
        values, rows = group["count"].to_numpy(), group["position"].to_numpy()
        # Every gap, at the row after it (period 0 missing: at the cohort's first row).
        for i in np.flatnonzero(np.diff(np.concatenate([[-1], seen])) > 1):
            low, high = (seen[i - 1] + 1 if i else 0), seen[i] - 1
            missing = f"period {low}" if low == high else f"periods {low} to {high}"
            problems.add(
                DataProblem(
                    where(frame, int(rows[i])),
                    period_col,
                    f"cohort {name!r}: {missing} missing before this row",
                    int(seen[i]),
                    hint="periods run 0, 1, 2, ... without gaps; period 0 is the initial size",
                )
            )
        with np.errstate(invalid="ignore"):  # a count that is not a number never rises
            rises = np.flatnonzero(np.diff(values) > 0) + 1
        for i in rises:
            problems.add(
                DataProblem(
                    where(frame, int(rows[i])),
                    count_col,
                    f"cohort {name!r}: active count increases from {values[i - 1]:g} at period "
                    f"{seen[i - 1]} to {values[i]:g} at period {seen[i]}",
                    int(values[i]) if float(values[i]).is_integer() else float(values[i]),
                    hint="a cohort can only shrink; new customers belong to a new cohort",
                )
            )
        columns[name] = pd.Series(values, index=seen)
    problems.raise_if_any()
    wide = pd.DataFrame(columns)
    wide.index.name = period_col
    return wide


def cohort_counts(
    active: Any,
    *,
    n0: float | Sequence[float] | None = None,
    cohorts: Sequence[Any] | None = None,
    cohort_col: str | None = "cohort",
    period_col: str = "year",
    count_col: str | None = None,
) -> tuple[np.ndarray, list[str], Any]:
    """Any input :func:`~cxsim.calibrate.retention.fit_sbg` accepts → checked counts.

    Parameters
    ----------
    active, n0, cohorts, cohort_col, count_col
        As in :func:`~cxsim.calibrate.retention.fit_sbg`; giving ``count_col`` reads
        ``active`` as a long table (:func:`cohorts_from_frame`).
    period_col : str
        Period column of a long table.

    Returns
    -------
    counts : ndarray, shape (period, cohort)
        Customers active (shares × ``n0`` when ``n0`` is given); trailing NaN = not yet
        observed.
    labels : list of str
        One label per cohort.
    original
        The data as given (a wide DataFrame for plain arrays), whose hash goes into the
        calibration file's provenance.

    Raises
    ------
    CalibrationError
        Counts that increase, are negative or non-finite, NaN before the end of a series,
        shares without ``n0``, or ``n0`` with counts.
    """
    if count_col is not None:
        if not isinstance(active, pd.DataFrame):
            raise CalibrationError("count_col= needs `active` to be a long-format DataFrame")
        wide = cohorts_from_frame(active, cohort_col, period_col, count_col)
        values, labels, original = (
            wide.to_numpy(dtype=float),
            [str(c) for c in wide.columns],
            active,
        )
    else:
        values, labels, original = _as_matrix(active, cohorts)
    return _validate(values, labels, n0), labels, original


def _plain(label: Any) -> Any:
    """A cohort label as the user wrote it (numpy scalars print as plain numbers)."""
    label = label.item() if isinstance(label, np.generic) else label
    # a column with an empty cell is read as floats: 2021.0 was written 2021
    return int(label) if isinstance(label, float) and label.is_integer() else label


def observed_lengths(counts: np.ndarray) -> np.ndarray:
    """Last observed period of each cohort (0 = only the initial size)."""
    return (~np.isnan(counts)).sum(axis=0) - 1


def _as_matrix(active, cohorts):
    """A sequence, Series, wide table or list of sequences → (values, labels, original data)."""
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


def _validate(values: np.ndarray, labels: list[str], n0) -> np.ndarray:
    """Check every cohort column; return counts (shares × n0 when n0 is given)."""
    if values.shape[0] == 0 or values.shape[1] == 0:
        raise CalibrationError("no cohort data: `active` is empty")
    finite_or_nan = np.isfinite(values) | np.isnan(values)
    if not finite_or_nan.all():
        p, j = np.argwhere(~finite_or_nan)[0]
        raise CalibrationError(f"cohort {labels[j]!r}: non-finite value at period {p}")
    for j, name in enumerate(labels):
        _check_cohort(values[:, j], name)
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


def _check_cohort(column: np.ndarray, name: str) -> None:
    """One cohort: observed from period 0, NaN only at the end, never negative or rising."""
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
    # A relative tolerance: shares times n0 carry rounding that must not read as a rise.
    rise = np.diff(obs) > 1e-9 * obs[0]
    if rise.any():
        p = int(np.argmax(rise)) + 1
        raise CalibrationError(
            f"cohort {name!r}: active count increases from {obs[p - 1]:g} at period {p - 1} "
            f"to {obs[p]:g} at period {p}; a cohort can only shrink (new customers belong "
            "to a new cohort)"
        )
