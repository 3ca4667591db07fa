"""Checks of the survey frame :func:`~cxsim.calibrate.voc.fit_voc` reads, before any fitting.

Every problem of the columns used (missing columns, NaN, values out of range) is collected and
raised at once, naming the columns and the first rows at fault, so one round of data cleaning
fixes them all. Problems of a segment as a whole (too few rows, no events, collinear gaps) are
checked on its cells (:func:`cxsim.calibrate.voc_cells.check_segment`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cxsim.errors import CalibrationError

__all__ = ["GAP_PREFIX", "check_survey", "gap_columns", "wallet_baselines"]

#: Gap columns found by default: every column whose name starts with this.
GAP_PREFIX = "gap_"
#: At most this many gap groups: a cell's code packs 2^G gap patterns (times segments, churn
#: and score class) into one 64-bit integer.
_MAX_GROUPS = 40


def gap_columns(df: pd.DataFrame, gaps: Sequence[str] | Mapping[str, str] | None) -> dict[str, str]:
    """The gap groups and their columns, ``{group: column}``.

    ``gaps`` is a list of columns (group = column name without a leading ``gap_``), a mapping
    ``{group: column}``, or None for every column starting with ``gap_``.
    """
    if gaps is None:
        cols = [c for c in df.columns if isinstance(c, str) and c.startswith(GAP_PREFIX)]
        if not cols:
            raise CalibrationError(
                f"no gap columns: pass gaps=[...] or name them '{GAP_PREFIX}<group>'"
            )
        gaps = cols
    if isinstance(gaps, str):
        gaps = [gaps]
    if isinstance(gaps, Mapping):
        out = {str(g): c for g, c in gaps.items()}
    else:
        out = {}
        for c in gaps:
            group = c[len(GAP_PREFIX) :] if str(c).startswith(GAP_PREFIX) else str(c)
            out[group] = c
    if not out:
        raise CalibrationError("gaps is empty: name at least one gap column")
    if len(set(out.values())) < len(out) or len(out) < len(list(gaps)):
        raise CalibrationError(f"gap columns or group names repeat: {list(gaps)}")
    if len(out) > _MAX_GROUPS:
        raise CalibrationError(f"{len(out)} gap groups; at most {_MAX_GROUPS} are supported")
    return out


def check_survey(df: pd.DataFrame, roles: dict[str, list[str]]) -> list[str]:
    """Check the columns of every role; return the columns used, in order, without repeats.

    Parameters
    ----------
    df : DataFrame
        The survey.
    roles : dict
        Columns by role: ``segment``, ``churn``, ``gap`` and optionally ``score`` and
        ``spend`` (before, after).

    Raises
    ------
    CalibrationError
        Missing columns; else every NaN and out-of-range problem at once.
    """
    used = list(dict.fromkeys(c for cs in roles.values() for c in cs))
    missing = [c for c in used if c not in df.columns]
    if missing:
        raise CalibrationError(
            f"missing column(s) {missing}; the frame has {list(df.columns)[:20]}"
        )
    _check_values(df, roles)
    return used


def wallet_baselines(share_of_wallet, names: Sequence[Any]) -> dict[Any, float]:
    """Baseline share of wallet ``w0`` per segment name (empty without ``share_of_wallet``)."""
    if share_of_wallet is None:
        return {}
    if isinstance(share_of_wallet, Mapping):
        lost = [n for n in names if n not in share_of_wallet]
        if lost:
            raise CalibrationError(f"share_of_wallet has no baseline for segment(s) {lost}")
        out = {n: float(share_of_wallet[n]) for n in names}
    else:
        out = {n: float(share_of_wallet) for n in names}
    bad = {n: v for n, v in out.items() if not 0 < v <= 1}
    if bad:
        raise CalibrationError(f"share_of_wallet must be in (0, 1] (got {bad})")
    return out


_NOT_BINARY = (
    "column {col!r} must be 0/1: {n} row(s) hold other values {values} (first rows: {rows})"
)
#: What the values of each role must be: the rows that break the rule, and how to say so.
_RULES: dict[str, tuple[Callable[[np.ndarray], np.ndarray], str]] = {
    "churn": (lambda v: (v != 0) & (v != 1), "churn " + _NOT_BINARY),
    "gap": (lambda v: (v != 0) & (v != 1), "gap " + _NOT_BINARY),
    "score": (
        lambda v: (v != np.round(v)) | (v < 0) | (v > 10) | ~np.isfinite(v),
        "score column {col!r} must hold integers 0-10: {n} row(s) are non-integer or outside "
        "0-10, e.g. {values} (first rows: {rows})",
    ),
    "spend": (
        lambda v: ~(v > 0) | ~np.isfinite(v),
        "spend column {col!r} must be positive and finite: {n} row(s) are zero, negative or "
        "infinite (first rows: {rows})",
    ),
}


def _labels(index: pd.Index, mask: np.ndarray, k: int = 5) -> str:
    first = index[mask][:k].tolist()
    more = ", ..." if mask.sum() > k else ""
    return ", ".join(repr(v) for v in first) + more


def _check_values(df: pd.DataFrame, roles: dict[str, list[str]]) -> None:
    """Collect every NaN / range problem of the used columns and raise them at once."""
    problems: list[str] = []
    index = df.index
    for col in dict.fromkeys(c for cols in roles.values() for c in cols):
        nan = df[col].isna().to_numpy()
        if nan.any():
            problems.append(
                f"column {col!r} has {int(nan.sum())} NaN value(s) (first rows: "
                f"{_labels(index, nan)})"
            )
    if problems:
        raise CalibrationError("fit_voc cannot use the data:\n- " + "\n- ".join(problems))

    def numeric(col: str) -> np.ndarray | None:
        s = df[col]
        if s.dtype == bool:
            return s.to_numpy(dtype=float)
        if not pd.api.types.is_numeric_dtype(s.dtype):
            problems.append(f"column {col!r} is not numeric (dtype {s.dtype})")
            return None
        return s.to_numpy(dtype=float)

    for role, (broken, message) in _RULES.items():
        for col in roles.get(role, []):
            v = numeric(col)
            if v is None:
                continue
            bad = broken(v)
            if bad.any():
                values = np.unique(v[bad])[:5].tolist()
                rows = _labels(index, bad)
                problems.append(message.format(col=col, n=int(bad.sum()), values=values, rows=rows))
    if problems:
        raise CalibrationError("fit_voc cannot use the data:\n- " + "\n- ".join(problems))
