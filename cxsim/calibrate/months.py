"""The time column of a monthly series: read as months, checked, and the order to sort by.

A fit that lines months up (the perception lag) must know which row is which month: a file
sorted newest-first, a month given twice or a month left out would otherwise be fitted as if
the rows were consecutive months in order. :func:`month_order` reads each label as a month —
``2019-03``, a date such as ``2019-03-31`` (its month), or a whole month number — and reports
every label that is not one, every month given twice and every gap, all at once and located
like other data problems (``FILE:LINE: month: message (got VALUE)``).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from cxsim.calibrate.data import DataProblem, DataProblems, where

_YEAR = re.compile(r"(?<!\d)\d{4}(?!\d)")
_ALLOWED = "allowed a month such as 2019-03, a date, or a whole month number"


def month_order(
    time: Any, column: str = "month", problems: DataProblems | None = None
) -> np.ndarray:
    """Positions of the rows in time order; a CalibrationError lists every problem.

    Parameters
    ----------
    time : Series, Index or array-like
        One label per row. A Series read by :func:`~cxsim.calibrate.data.read_table` (or a
        column of such a frame) names each problem by file and line.
    column : str
        The column's name in messages.
    problems : DataProblems, optional
        Collect the problems here for the caller to raise with its own, instead of raising.

    Examples
    --------
    >>> month_order(pd.Series(["2019-03", "2019-01", "2019-02"])).tolist()
    [1, 2, 0]
    """
    labels = time if isinstance(time, pd.Series) else pd.Series(np.asarray(time, dtype=object))
    ordinals = _ordinals(labels)
    raise_here = problems is None
    problems = DataProblems() if problems is None else problems
    for position in np.flatnonzero(np.isnan(ordinals)):
        problems.add(
            DataProblem(
                where(labels, int(position)),
                column,
                "not a month",
                labels.iloc[position],
                hint=_ALLOWED,
            )
        )
    first_seen: dict[float, int] = {}
    for position, value in enumerate(ordinals):
        if np.isnan(value):
            continue
        if value in first_seen:
            problems.add(
                DataProblem(
                    where(labels, position),
                    column,
                    f"month given twice (first at {where(labels, first_seen[value])})",
                    labels.iloc[position],
                    hint="one row per month",
                )
            )
        else:
            first_seen[value] = position
    order = np.array(sorted(first_seen.values(), key=lambda p: ordinals[p]), dtype=int)
    for before, after in zip(order[:-1], order[1:], strict=True):
        missing = int(ordinals[after] - ordinals[before]) - 1
        if missing > 0:
            problems.add(
                DataProblem(
                    where(labels, int(after)),
                    column,
                    f"{missing} month(s) missing after {labels.iloc[before]}",
                    labels.iloc[after],
                    hint="one row per month without gaps; fill or trim the series",
                )
            )
    if raise_here:
        problems.raise_if_any()
    return np.argsort(ordinals, kind="stable")


def _ordinals(labels: pd.Series) -> np.ndarray:
    """Each label as a month count (year·12 + month − 1, or the month number); NaN if neither."""
    values = labels.to_numpy(dtype=object)
    numbers = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    if np.isfinite(numbers).mean() > 0.5:  # month numbers, such as 0, 1, 2, ...
        return np.where(np.isfinite(numbers) & (numbers == np.round(numbers)), numbers, np.nan)
    out = np.full(len(values), np.nan)
    for position, value in enumerate(values):
        out[position] = _month_of(value)
    return out


def _month_of(value: Any) -> float:
    if isinstance(value, pd.Period | pd.Timestamp):
        return float(value.year * 12 + value.month - 1)
    if isinstance(value, bool) or not isinstance(value, str) or not _YEAR.search(value):
        return np.nan  # "March" alone would be read as March of this year
    try:
        period = pd.Period(value.strip(), freq="M")
    except (ValueError, TypeError, OverflowError):
        return np.nan
    if period is pd.NaT:
        return np.nan
    return float(period.year * 12 + period.month - 1)
