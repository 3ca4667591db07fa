"""Checks of the survey :func:`~cxsim.calibrate.voc.fit_voc` reads, before any fitting.

Every problem of the columns used — a missing column, an empty cell, text in a 0/1 column, a
score outside 0–10, a spend that is not positive — is collected and raised at once, located the
way scenario problems are: ``FILE:LINE: column: message (got VALUE)`` for a survey read by
:func:`~cxsim.calibrate.data.read_table` (the header is line 1), ``row LABEL: column: ...`` for a
DataFrame built in Python (:mod:`cxsim.calibrate.data`). So one round of data cleaning fixes
them all. Problems of a segment as a whole (too few rows, no events, collinear gaps) are checked
on its cells (:func:`cxsim.calibrate.voc_cells.check_segment`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cxsim.calibrate.data import DataProblem, DataProblems, numeric_column, source_of, where
from cxsim.errors import CalibrationError

__all__ = ["GAP_PREFIX", "check_survey", "gap_columns", "wallet_baselines"]

#: Gap columns found by default: every column whose name starts with this.
GAP_PREFIX = "gap_"
#: At most this many gap groups: a cell's code packs 2^G gap patterns (times segments, churn
#: and score class) into one 64-bit integer.
_MAX_GROUPS = 40
#: Located problems listed per column; the rest of a column's are counted.
_PER_COLUMN = 10
#: What each role's values must be, for numeric_column: (low, high, whole, allowed).
_RULES: dict[str, tuple[float | None, float | None, bool, str]] = {
    "churn": (0, 1, True, "0 or 1"),
    "gap": (0, 1, True, "0 or 1"),
    "score": (0, 10, True, "whole numbers 0-10"),
    "spend": (None, None, False, "a positive amount"),
}


def gap_columns(df: pd.DataFrame, gaps: Sequence[str] | Mapping[str, str] | None) -> dict[str, str]:
    """The gap groups and their columns, ``{group: column}``.

    ``gaps`` is a list of columns named ``gap_<group>``, a mapping ``{group: column}`` (any
    column names), or None for every column starting with ``gap_``. A listed column that does
    not start with ``gap_`` has no group name: it is an error that says how to map it, never a
    work group named after the column.
    """
    if gaps is None:
        cols = [c for c in df.columns if isinstance(c, str) and c.startswith(GAP_PREFIX)]
        if not cols:
            raise CalibrationError(
                f"{source_of(df)}: no gap columns: name them '{GAP_PREFIX}<group>' or map them "
                "to work groups with gaps={'<group>': '<column>'} (--gap GROUP=COLUMN)"
            )
        gaps = cols
    if isinstance(gaps, str):
        gaps = [gaps]
    if isinstance(gaps, Mapping):
        out = {str(g): c for g, c in gaps.items()}
    else:
        out, unnamed = {}, []
        for c in gaps:
            if str(c).startswith(GAP_PREFIX) and len(str(c)) > len(GAP_PREFIX):
                out[str(c)[len(GAP_PREFIX) :]] = c
            else:
                unnamed.append(c)
        if unnamed:
            raise CalibrationError(
                "gap column(s) "
                + ", ".join(repr(c) for c in unnamed)
                + f" do not start with '{GAP_PREFIX}', so they name no work group: map each to "
                "its work group, e.g. gaps={"
                + ", ".join(f"{_suggest(c)!r}: {c!r}" for c in unnamed)
                + "} (on the command line: "
                + " ".join(f"--gap {_suggest(c)}={_quote(c)}" for c in unnamed)
                + ")"
            )
    if not out:
        raise CalibrationError("gaps is empty: name at least one gap column")
    if len(set(out.values())) < len(out) or len(out) < len(list(gaps)):
        raise CalibrationError(f"gap columns or group names repeat: {list(gaps)}")
    if len(out) > _MAX_GROUPS:
        raise CalibrationError(f"{len(out)} gap groups; at most {_MAX_GROUPS} are supported")
    return out


def check_survey(df: pd.DataFrame, roles: dict[str, list[str]]) -> pd.DataFrame:
    """Check the columns of every role and return them clean: numbers where numbers belong.

    Parameters
    ----------
    df : DataFrame
        The survey (from :func:`~cxsim.calibrate.data.read_table`, or built in Python).
    roles : dict
        Columns by role: ``segment``, ``churn``, ``gap`` and optionally ``score`` and
        ``spend`` (before, after).

    Returns
    -------
    DataFrame
        The used columns (in order, without repeats), numeric roles as floats.

    Raises
    ------
    CalibrationError
        Every problem at once: missing columns, then every bad cell, each located.
    """
    used = list(dict.fromkeys(c for cs in roles.values() for c in cs))
    problems = DataProblems()
    source = source_of(df)
    for column in used:
        if column not in df.columns:
            problems.add(
                DataProblem(
                    source,
                    str(column),
                    "no such column",
                    has_got=False,
                    hint=f"the survey has {', '.join(map(str, list(df.columns)[:20]))}",
                )
            )
    problems.raise_if_any()
    clean: dict[Any, Any] = {}
    for column in roles["segment"]:
        empty = df[column].isna().to_numpy()
        _located(df, column, np.flatnonzero(empty), problems, "empty cell", "a segment name")
        clean[column] = df[column]
    for role, (low, high, whole, allowed) in _RULES.items():
        for column in roles.get(role, []):
            if column in clean:
                continue
            column_problems = DataProblems()
            values = numeric_column(
                df, column, column_problems, low=low, high=high, whole=whole, allowed=allowed
            )
            if role == "spend":  # numeric_column has no open bound: spend must exceed 0
                for position in np.flatnonzero(np.isfinite(values) & (values <= 0)):
                    column_problems.add(
                        DataProblem(
                            where(df, int(position)),
                            str(column),
                            "not positive",
                            df[column].iloc[position],
                            hint=f"allowed {allowed}",
                        )
                    )
            _keep_some(column_problems, problems, str(column), source)
            clean[column] = values
    problems.raise_if_any()
    out = pd.DataFrame({c: clean[c] for c in used}, index=df.index)
    out.attrs.update(df.attrs)
    return out


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


def _located(df, column, positions, problems: DataProblems, message: str, allowed: str) -> None:
    found = DataProblems()
    for position in positions:
        found.add(
            DataProblem(
                where(df, int(position)),
                str(column),
                message,
                df[column].iloc[position],
                hint=f"allowed {allowed}",
            )
        )
    _keep_some(found, problems, str(column), source_of(df))


def _keep_some(found: DataProblems, problems: DataProblems, column: str, source: str) -> None:
    """Add a column's first problems and count the rest, so one bad column cannot hide others."""
    for problem in found.items[:_PER_COLUMN]:
        problems.add(problem)
    extra = len(found.items) - _PER_COLUMN
    if extra > 0:
        problems.add(
            DataProblem(source, column, f"... and {extra:,} more row(s) like these", has_got=False)
        )


def _suggest(column: Any) -> str:
    """A work-group name for a column: lower case, words joined by underscores."""
    words = re.findall(r"[A-Za-z0-9]+", str(column).lower())
    words = [w for w in words if w not in ("gap", "gaps", "pain")] or words or ["group"]
    return "_".join(words)


def _quote(column: Any) -> str:
    text = str(column)
    return f"'{text}'" if re.search(r"[^A-Za-z0-9_.-]", text) else text
