"""Snapshot tables → customers at risk and churners by tenure, for the left-truncated sBG fit.

The commonest retention data is a snapshot of a customer base: one row per customer with a
tenure and whether they left during the period observed. A customer with ``t`` completed
periods is in the data because they survived ``t`` periods, so the fit
(:mod:`cxsim.calibrate.sbg`, :func:`~cxsim.calibrate.retention.fit_sbg`) needs, per tenure,
only the customers at risk and the churners; this module builds that table from the rows,
reporting every bad cell at once as ``FILE:LINE: column: message (got VALUE)``
(:mod:`cxsim.calibrate.data`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxsim.calibrate.data import DataProblem, DataProblems, numeric_column, source_of, where
from cxsim.errors import CalibrationError

__all__ = ["CHURN_WORDS", "Snapshot", "churn_flags", "snapshot_table"]

#: Text a churn flag may hold (any case, surrounding spaces ignored), besides 0 and 1.
CHURN_WORDS = {"yes": 1.0, "true": 1.0, "no": 0.0, "false": 0.0}


@dataclass
class Snapshot:
    """A snapshot aggregated by tenure.

    Attributes
    ----------
    table : DataFrame
        Index ``tenure`` (whole periods completed when the observed period began), columns
        ``at_risk`` and ``churned`` (customers, weighted when a weights column is given).
    rows_used, rows_dropped : int
        Rows in the likelihood, and rows left out (joined during the observed period, or
        weight 0).
    notes : list of str
        What the reader should know about rows left out.
    """

    table: pd.DataFrame
    rows_used: int
    rows_dropped: int
    notes: list[str] = field(default_factory=list)


def snapshot_table(
    frame: pd.DataFrame,
    tenure: str,
    churned: str,
    *,
    weights: str | None = None,
    tenure_counts_current: bool = False,
) -> Snapshot:
    """Check a snapshot's columns and count customers at risk and churners by tenure.

    Parameters
    ----------
    frame : DataFrame
        One row per customer (or per group of customers, with ``weights``); a frame from
        :func:`~cxsim.calibrate.data.read_table` names file lines in its problems.
    tenure : str
        Column of whole periods the customer had completed when the observed period began.
    churned : str
        Column saying whether the customer left during the observed period: 0/1, or
        yes/no, true/false (any case).
    weights : str, optional
        Column of the number of customers each row stands for (an aggregated snapshot).
    tenure_counts_current : bool
        The tenure counts the observed period itself (a customer in their first period has
        tenure 1): ``tenure - 1`` periods were completed. Rows with tenure 0 then joined
        during the observed period, were not at risk when it began, and are left out.

    Returns
    -------
    Snapshot

    Raises
    ------
    CalibrationError
        Every bad cell at once (``FILE:LINE: column: message (got VALUE)``); or data that
        cannot separate alpha from beta (no churner, no stayer, a single tenure).

    Examples
    --------
    >>> rows = pd.DataFrame({"tenure": [0, 0, 3, 3, 3], "left": ["yes", "no", "No", "no", "YES"]})
    >>> snapshot_table(rows, "tenure", "left").table.to_dict("index")
    {0: {'at_risk': 2.0, 'churned': 1.0}, 3: {'at_risk': 3.0, 'churned': 1.0}}
    """
    if not isinstance(frame, pd.DataFrame):
        raise CalibrationError(
            "tenure= and churned= read a snapshot: pass a pandas DataFrame with one row per "
            f"customer (got {type(frame).__name__})"
        )
    problems = DataProblems()
    wanted = [c for c in (tenure, churned, weights) if c is not None]
    for column in wanted:
        if column not in frame.columns:
            problems.add(
                DataProblem(
                    source_of(frame),
                    column,
                    "no such column",
                    has_got=False,
                    hint=f"the table has {', '.join(map(str, list(frame.columns)[:20]))}",
                )
            )
    problems.raise_if_any()
    if len(frame) == 0:
        raise CalibrationError(f"{source_of(frame)}: no rows in the snapshot")
    allowed = "whole periods ≥ 0" + (
        " (counting the period observed)" if tenure_counts_current else " completed"
    )
    t = numeric_column(frame, tenure, problems, low=0, whole=True, allowed=allowed)
    c = churn_flags(frame, churned, problems)
    w = (
        np.ones(len(frame))
        if weights is None
        else numeric_column(frame, weights, problems, low=0, allowed="a count of customers ≥ 0")
    )
    problems.raise_if_any()
    notes = []
    keep = w > 0
    if tenure_counts_current:
        joined = t == 0
        if joined.any():
            notes.append(
                f"{int(joined.sum()):,} row(s) with tenure 0 left out: with a tenure that counts "
                "the period observed, they joined during it and were not at risk when it began"
            )
        keep &= ~joined
        t = t - 1
    if not keep.any():
        raise CalibrationError(f"{source_of(frame)}: no customer at risk in the snapshot")
    table = (
        pd.DataFrame(
            {"tenure": t[keep].astype(int), "at_risk": w[keep], "churned": w[keep] * c[keep]}
        )
        .groupby("tenure")
        .sum()
    )
    _check_identifiable(table, source_of(frame))
    return Snapshot(table, int(keep.sum()), int((~keep).sum()), notes)


def churn_flags(frame: pd.DataFrame, column: str, problems: DataProblems) -> np.ndarray:
    """A churn column as 0.0/1.0; each value that is not a churn flag is a located problem.

    Accepted: 0 and 1 (as numbers or text), booleans, and yes/no, true/false in any case.
    """
    values = frame[column]
    if values.dtype == bool:
        return values.to_numpy(dtype=float)
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    words = values.astype(str).str.strip().str.lower().map(CHURN_WORDS).to_numpy(dtype=float)
    flags = np.where((numbers == 0) | (numbers == 1), numbers, words)
    for position in np.flatnonzero(np.isnan(flags)):
        problems.add(
            DataProblem(
                where(frame, int(position)),
                column,
                "not a churn flag",
                values.iloc[position],
                hint="allowed 0/1, yes/no, true/false",
            )
        )
    return flags


def _check_identifiable(table: pd.DataFrame, source: str) -> None:
    """Refuse snapshots whose churn rates cannot separate alpha from beta."""
    churners, total = table["churned"].sum(), table["at_risk"].sum()
    if churners <= 0:
        raise CalibrationError(
            f"{source}: no churn events: no customer left during the observed period, so "
            "alpha and beta cannot be estimated"
        )
    if churners >= total:
        raise CalibrationError(
            f"{source}: every customer churned during the observed period: with no one "
            "staying there is no retention to fit (check the churn column and the period)"
        )
    if len(table) < 2:
        raise CalibrationError(
            f"{source}: every customer has the same tenure ({table.index[0]}): one churn rate "
            "cannot separate alpha from beta; the sBG needs customers of at least two tenures"
        )
