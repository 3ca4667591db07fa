"""Joint draws from a table: bootstrap replicates or posterior draws, one row per replicate.

A scenario's ``samples:`` names CSV files whose columns feed its inputs. Monte Carlo draw
``i`` reads row ``floor(u_i · n_rows)`` of a table, ``u_i`` being draw ``i`` of the counter-based
stream named after the table (:func:`pick_rows`), so every column of the table comes from the
same row (the joint law of the columns is kept) and draw ``i`` depends only on the seed and
``i``. An input fed by a column reports that column to the rest of cxsim as an
:class:`Empirical` distribution: quantiles, mean, support and inverse CDF of the column.

Tables are read with the standard library (no pandas), once, when the scenario is loaded.
"""

from __future__ import annotations

import csv
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cxsim.errors import Problem
from cxsim.uncertainty.distributions import Distribution
from cxsim.uncertainty.streams import stream_id, uniforms

__all__ = ["Empirical", "SampleTable", "pick_rows", "read_header", "read_table"]


@dataclass(frozen=True, eq=False)
class SampleTable:
    """A CSV table of draws as read from its file: numbers by (row, column), with their lines.

    Cells that are not numbers are NaN in ``values`` and listed in ``bad`` with their text,
    so that the scenario can report them for the columns it reads (and only those).
    """

    path: Path  # the file, absolute
    shown: str  # the file as messages name it (relative to the working folder)
    header: tuple[str, ...]
    header_line: int  # the file line of the header (1 unless # comment lines come first)
    values: np.ndarray  # (row, column) float64
    lines: np.ndarray  # (row,) the file line of each row; the header is line 1
    bad: tuple[tuple[int, int, str], ...]  # (row, column, text) of cells that are not numbers
    sha256: str

    @property
    def rows(self) -> int:
        return int(self.values.shape[0])

    def where(self, row: int) -> str:
        """``FILE:LINE`` of a row (0-based), as problems name it."""
        return f"{self.shown}:{int(self.lines[row])}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SampleTable):
            return NotImplemented
        return (self.path, self.sha256) == (other.path, other.sha256)

    def __hash__(self) -> int:
        return hash((self.path, self.sha256))

    def __repr__(self) -> str:
        return f"SampleTable({self.shown!r}, {self.rows} rows, {len(self.header)} columns)"


def _records(text: str):
    """(line, fields) of every CSV record, skipping blank lines and ``#`` comment lines.

    Stan's CSV output carries its settings on ``#`` lines; a record's line is the file line
    it starts on.
    """
    numbered = enumerate(text.splitlines(keepends=True), start=1)
    body = [(n, line) for n, line in numbered if line.strip() and not line.startswith("#")]
    reader = csv.reader(line for _, line in body)
    position = 0
    for fields in reader:
        # A quoted field may span lines: the reader's count says how many it consumed.
        line = body[position][0]
        position = reader.line_num
        yield line, fields


def _read_text(path: Path, shown: str) -> tuple[str | None, bytes, Problem | None]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, b"", Problem(shown, "", f"cannot read the file: {exc.strerror}", has_got=False)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, raw, _not_csv(shown, "it is not UTF-8 text")
    if "\x00" in text:
        return None, raw, _not_csv(shown, "it holds NUL bytes")
    return text, raw, None


def _not_csv(shown: str, why: str) -> Problem:
    return Problem(
        shown,
        "",
        f"cannot read it as CSV ({why})",
        has_got=False,
        allowed="a CSV file: a header of column names, then one row per draw",
    )


def read_header(path: Path) -> list[str] | None:
    """The column names of a CSV file, or None when it cannot be read as one.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "t.csv").write_text("# a comment\\nalpha,beta\\n1,2\\n")
    >>> read_header(folder / "t.csv")
    ['alpha', 'beta']
    """
    text, _, problem = _read_text(path, str(path))
    if text is None or problem is not None:
        return None
    try:
        for _, fields in _records(text):
            return [name.strip() for name in fields]
    except csv.Error:
        return None
    return None


def read_table(path: Path, shown: str) -> tuple[SampleTable | None, list[Problem]]:
    """Read a table of draws; return it (None when unusable) and every problem found.

    Parameters
    ----------
    path : Path
        The CSV file: a header of column names, then one row per draw. Blank lines and lines
        starting with ``#`` are skipped.
    shown : str
        The file as problems name it (``FILE:LINE: column: message``).

    Returns
    -------
    table : SampleTable or None
    problems : list of cxsim.errors.Problem
        Whole-file problems (not text, not CSV, no columns, no rows, a column named twice)
        and rows whose number of fields differs from the header's. Cells that are not
        numbers are not problems here: the scenario reports those of the columns it reads.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "t.csv").write_text("alpha,beta\\n1,2\\n\\n3,x\\n")
    >>> table, problems = read_table(folder / "t.csv", "t.csv")
    >>> table.header, table.values.tolist(), table.lines.tolist(), table.bad, problems
    (('alpha', 'beta'), [[1.0, 2.0], [3.0, nan]], [2, 4], ((1, 1, 'x'),), [])
    """
    text, raw, problem = _read_text(path, shown)
    if problem is not None or text is None:
        return None, [problem] if problem else []
    problems: list[Problem] = []
    try:
        records = list(_records(text))
    except csv.Error as exc:
        return None, [_not_csv(shown, str(exc))]
    if not records:
        return None, [Problem(shown, "", "the file is empty", has_got=False, allowed=_LAYOUT)]
    header_line, header = records[0]
    names = tuple(name.strip() for name in header)
    for index, name in enumerate(names):
        if not name:
            problems.append(
                Problem(f"{shown}:{header_line}", "", f"column {index + 1} has no name", None)
            )
        elif name in names[:index]:
            problems.append(
                Problem(f"{shown}:{header_line}", name, "column named twice", has_got=False)
            )
    rows = records[1:]
    if not rows:
        problems.append(Problem(shown, "", "no data rows", has_got=False, allowed=_LAYOUT))
    values = np.full((len(rows), len(names)), np.nan)
    lines = np.empty(len(rows), dtype=np.int64)
    bad: list[tuple[int, int, str]] = []
    for r, (line, fields) in enumerate(rows):
        lines[r] = line
        if len(fields) != len(names):
            problems.append(
                Problem(
                    f"{shown}:{line}",
                    "",
                    f"{len(fields)} field{'s' if len(fields) != 1 else ''} where the header "
                    f"names {len(names)} columns",
                    has_got=False,
                )
            )
            continue
        for c, cell in enumerate(fields):
            number = _number(cell)
            if number is None:
                bad.append((r, c, cell))
            else:
                values[r, c] = number
    if problems:
        return None, problems
    digest = hashlib.sha256(raw).hexdigest()
    table = SampleTable(path, shown, names, header_line, values, lines, tuple(bad), digest)
    return table, []


_LAYOUT = "a header of column names, then one row per draw"


def _number(cell: str) -> float | None:
    """A cell as a finite float, or None (empty, text, nan, inf)."""
    text = cell.strip()
    if not text or "_" in text:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def pick_rows(seed: int, stream: str, rows: int, start: int, stop: int) -> np.ndarray:
    """The row each of draws ``start..stop-1`` reads: ``floor(u · rows)``, uniform over rows.

    ``u`` is the counter-based uniform of the stream ``stream_id(stream)``, so draw ``i``'s
    row depends only on ``(seed, stream, i)`` and any chunking gives the same rows.

    Examples
    --------
    >>> rows = pick_rows(1, "samples.t.csv", 4, 0, 10_000)
    >>> int(rows.min()), int(rows.max())
    (0, 3)
    >>> bool((pick_rows(1, "samples.t.csv", 4, 500, 600) == rows[500:600]).all())
    True
    """
    u = uniforms(seed, stream_id(stream), start, stop)  # strictly inside (0, 1)
    return np.minimum((u * rows).astype(np.int64), rows - 1)


class Empirical(Distribution):
    """One column of a samples table, as the input it feeds reports it.

    The distribution puts probability ``1/n`` on each of the column's ``n`` values; its
    inverse CDF is the textbook one of an empirical distribution, ``F⁻¹(u) = x_(⌈u·n⌉)``
    (the ``⌈u·n⌉``-th smallest value), so a quantile is always a value of the table. Draws
    never come from :meth:`ppf` (that would lose the joint law of the columns): sampling
    reads whole rows (:func:`pick_rows`). ``ppf`` serves the marginal (e.g. Sobol' designs).

    Parameters
    ----------
    table : SampleTable
    column : int
        Position of the column in ``table.header``.
    stream : str
        Name of the random stream that picks the table's rows.
    file : str
        The table's file as the scenario wrote it.
    point : float
        The input's plain number in the scenario: its value whenever no table feeds it.
    entry : int
        Position of the table in the scenario's ``samples`` list.

    Examples
    --------
    >>> values = np.array([[0.1], [0.3], [0.2], [0.4]])
    >>> table = SampleTable(Path("t.csv"), "t.csv", ("cr",), 1, values, np.arange(2, 6), (), "0")
    >>> d = Empirical(table, 0, "samples.t.csv", "t.csv", 0.25, 0)
    >>> d.describe(), d.support(), round(d.mean(), 6), d.median()
    ('Table(t.csv: cr; 4 rows)', (0.1, 0.4), 0.25, 0.2)
    >>> d.ppf(np.array([0.0, 0.3, 0.9, 1.0])).tolist()
    [0.1, 0.2, 0.4, 0.4]
    """

    def __init__(
        self, table: SampleTable, column: int, stream: str, file: str, point: float, entry: int
    ):
        # Distribution is a frozen dataclass; its checks are for the parametric kinds.
        setter = object.__setattr__
        setter(self, "dist", "empirical")
        setter(self, "params", ())
        setter(self, "table", table)
        setter(self, "column", int(column))
        setter(self, "stream", stream)
        setter(self, "file", file)
        setter(self, "point", float(point))
        setter(self, "entry", int(entry))
        setter(self, "_sorted", np.sort(table.values[:, column]))

    table: SampleTable
    column: int
    stream: str
    file: str
    point: float
    entry: int
    _sorted: np.ndarray

    @property
    def name(self) -> str:
        """The column's name in the table's header."""
        return self.table.header[self.column]

    @property
    def values(self) -> np.ndarray:
        """The column, row by row (shape ``(row,)``)."""
        return self.table.values[:, self.column]

    def ppf(self, u: Any) -> np.ndarray:
        u = np.asarray(u, dtype=np.float64)
        valid = (u >= 0.0) & (u <= 1.0)  # also False for NaN
        n = self._sorted.size
        index = np.ceil(np.where(valid, u, 0.5) * n).astype(np.int64) - 1
        x = self._sorted[np.clip(index, 0, n - 1)]
        return np.where(valid, x, np.nan)

    def mean(self) -> float:
        return float(self._sorted.mean())

    def support(self) -> tuple[float, float]:
        return (float(self._sorted[0]), float(self._sorted[-1]))

    def to_dict(self) -> dict[str, Any]:
        return {"dist": "empirical", "file": self.file, "column": self.name, "rows": self.rows}

    @property
    def rows(self) -> int:
        return self.table.rows

    def describe(self) -> str:
        return f"Table({self.file}: {self.name}; {self.rows} rows)"

    def __repr__(self) -> str:
        return f"Empirical({self.file!r}, column {self.name!r}, {self.rows} rows)"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Empirical):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple:
        return (self.table, self.column, self.stream, self.point)
