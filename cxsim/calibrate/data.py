"""Data tables for the fits, with problems reported the way scenario problems are.

A fit's data usually comes from a CSV file. Every problem found in it is collected and
reported at once, each as ``FILE:LINE: column: message (got VALUE)`` with the line an editor
shows (the header is line 1, the first data row line 2). :func:`read_table` reads a CSV and
remembers where each row came from; a DataFrame built in Python has no file, and its problems
name the row by its index label instead (``row 7: churned: ...``).

Fits collect :class:`DataProblem` s in a :class:`DataProblems` list and call ``raise_if_any``
once they have checked everything they can, so one run shows every problem.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxsim.errors import CalibrationError

# Where a frame read by read_table came from: its file and the file line of each row.
_SOURCE, _LINES = "cxsim_source", "cxsim_lines"


@dataclass(frozen=True)
class DataProblem:
    """One thing wrong with a data table: where (file, line or row), which column, the value."""

    where: str  # "survey.csv:11" or "row 9" or "survey.csv" (the whole file)
    column: str | None
    message: str
    got: Any = None
    has_got: bool = True
    hint: str | None = None

    def __str__(self) -> str:
        text = self.where + ": " if self.where else ""
        text += f"{self.column}: " if self.column else ""
        text += self.message
        tail = []
        if self.has_got:
            tail.append(f"got {_show(self.got)}")
        if self.hint:
            tail.append(self.hint)
        return text + (f" ({'; '.join(tail)})" if tail else "")


@dataclass
class DataProblems:
    """Problems collected while checking a table; raised together."""

    items: list[DataProblem] = field(default_factory=list)
    limit: int = 50  # beyond this many, the rest are counted, not listed

    def add(self, problem: DataProblem) -> None:
        self.items.append(problem)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if not self.items:
            return
        shown = [str(p) for p in self.items[: self.limit]]
        if len(self.items) > self.limit:
            shown.append(f"... and {len(self.items) - self.limit} more problems")
        raise CalibrationError("\n".join(shown))


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A CSV file as a DataFrame that remembers its file and each row's line.

    Blank lines are skipped by the reader, so lines are counted from the file itself.
    Unreadable files are a :class:`~cxsim.errors.CalibrationError` naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise CalibrationError(f"{path}: data file not found")
    try:
        # Only an empty cell is missing: "n/a" or "NA" stay text, so an error can quote them.
        frame = pd.read_csv(path, skip_blank_lines=True, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CalibrationError(f"{path}: cannot read it as CSV ({first})") from None
    if frame.empty:
        raise CalibrationError(f"{path}: no data rows (the first line is the header)")
    frame.attrs[_SOURCE] = str(path)
    frame.attrs[_LINES] = _data_lines(path, len(frame))
    return frame


def where(frame: pd.DataFrame, position: int) -> str:
    """``FILE:LINE`` of the row at ``position`` (0-based), or ``row LABEL`` without a file."""
    source, lines = frame.attrs.get(_SOURCE), frame.attrs.get(_LINES)
    if source and lines is not None and position < len(lines):
        return f"{source}:{lines[position]}"
    return f"row {frame.index[position]!r}" if position < len(frame) else f"row {position}"


def source_of(frame: pd.DataFrame) -> str:
    """The file a frame was read from, or "data" for a frame built in Python."""
    return str(frame.attrs.get(_SOURCE) or "data")


def subset(frame: pd.DataFrame, mask) -> pd.DataFrame:
    """Rows of ``frame`` that keep knowing which file lines they came from."""
    out = frame[mask]
    lines = frame.attrs.get(_LINES)
    if lines is not None:
        out.attrs[_LINES] = list(np.asarray(lines)[np.asarray(mask, dtype=bool)])
    return out


def numeric_column(
    frame: pd.DataFrame,
    column: str,
    problems: DataProblems,
    *,
    low: float | None = None,
    high: float | None = None,
    allowed: str = "a number",
    whole: bool = False,
) -> np.ndarray:
    """A column as floats; each value that is not a number in range is a located problem."""
    values = frame[column]
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(numbers)
    if low is not None:
        bad |= numbers < low
    if high is not None:
        bad |= numbers > high
    if whole:
        bad |= np.isfinite(numbers) & (numbers != np.round(numbers))
    for position in np.flatnonzero(bad):
        number = numbers[position]
        if np.isfinite(number):  # quote the number read, not the text it was read from
            shown: Any = int(number) if number == round(number) else float(number)
        else:
            shown = values.iloc[position]
        problems.add(
            DataProblem(
                where(frame, int(position)),
                column,
                "not a number" if not np.isfinite(number) else "out of range",
                shown,
                hint=f"allowed {allowed}",
            )
        )
    return numbers


def _data_lines(path: Path, rows: int) -> list[int]:
    """File line numbers (1-based) of the data rows: the non-blank lines after the header.

    A quoted field spanning lines would shift the count; survey exports rarely have them,
    and the lines are then still close to the row.
    """
    lines = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        seen_header = False
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            if not seen_header:
                seen_header = True
                continue
            lines.append(number)
            if len(lines) == rows:
                break
    return lines


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    # Missing reads as None, NaN or pd.NA depending on the column's type and pandas' version.
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return "an empty cell"
    text = repr(value.item() if isinstance(value, np.generic) else value)
    return text if len(text) <= 60 else text[:57] + "..."
