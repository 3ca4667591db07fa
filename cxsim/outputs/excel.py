"""The business case as an Excel workbook for a finance partner.

One sheet per view of a :class:`~cxsim.outputs.views.BaseResult`: the summary, every
assumption, the yearly cash flow, the yearly lagging indicators and, when given, a
sensitivity table and extra tables. Figures are written as numbers carrying Excel
number formats, so the partner can compute with them; an undefined figure (an IRR
that does not exist, say) is the text ``"n/a"``, never ``NaN``.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from cxsim.errors import CxsimError
from cxsim.uncertainty.distributions import Distribution

if TYPE_CHECKING:
    from cxsim.outputs.views import BaseResult

MONEY = "#,##0;[Red]-#,##0"
PERCENT = "0.0%"
# Summary rows carry a unit; each unit has one Excel number format.
UNIT_FORMATS = {
    "money": MONEY,
    "ratio": PERCENT,
    "probability": PERCENT,
    "pp": "+0.00%;-0.00%",  # a change in a rate, in percentage points
    "months": "0",
    "points": "+0.0;-0.0",
    "count": "#,##0",
}
# Lagging indicators on the yearly sheet and their formats; monthly churn is small,
# so it gets two decimals of a percent.
LAGGING_FORMATS = {
    "customers": "#,##0",
    "churn": "0.00%",
    "retention_12m": PERCENT,
    "nps": "0.0",
    "share_of_wallet": PERCENT,
    "clv": MONEY,
    "revenue": MONEY,
    "profit": MONEY,
}
# A change reads better with its sign; money keeps red negatives instead.
SIGNED = {
    "#,##0": "+#,##0;-#,##0",
    "0.00%": "+0.00%;-0.00%",
    PERCENT: "+0.0%;-0.0%",
    "0.0": "+0.0;-0.0",
}
# Columns of a sensitivity or extra table whose names contain one of these are money.
MONEY_WORDS = ("npv", "swing", "cost", "profit", "cash", "revenue", "benefit", "clv", "amount")
QUANTILES = {"p5": 0.05, "p50": 0.5, "p95": 0.95}
SUMMARY_HEADERS = {
    "value": "Value",
    "mean": "Mean",
    "p5": "P5",
    "p50": "P50",
    "p95": "P95",
    "mean_se": "Mean ± (Monte Carlo error)",
    "p5_se": "P5 ± (Monte Carlo error)",
    "p50_se": "P50 ± (Monte Carlo error)",
    "p95_se": "P95 ± (Monte Carlo error)",
    "defined_share": "Defined in (share of draws)",
    "unit": "Unit",
}
SHEETS = ("Summary", "Assumptions", "Cash flow (yearly)", "Lagging (yearly)")
SENSITIVITY = "Sensitivity"
NA = "n/a"
BOLD = Font(bold=True)
MAX_WIDTH = 60
# Characters Excel refuses in a sheet name, and its length limit.
BAD_SHEET_CHARS = set("[]:*?/\\")
MAX_SHEET_NAME = 31


def write_workbook(
    result: BaseResult,
    path: str | os.PathLike[str],
    sensitivity: pd.DataFrame | None = None,
    *,
    extra_sheets: Mapping[str, pd.DataFrame] | None = None,
) -> Path:
    """Write a result as an Excel workbook a finance partner can read and recompute.

    Sheets: ``Summary`` (scenario, seed, draws, date, the summary table and its notes),
    ``Assumptions`` (every input with p10/p50/p90, then the correlations),
    ``Cash flow (yearly)`` and ``Lagging (yearly)`` (years across the columns), then
    ``Sensitivity`` and one sheet per extra table when given. The workbook is written
    to a temporary file in the target folder and renamed into place, so a failure never
    leaves a half-written workbook.

    Parameters
    ----------
    result : SimulationResult
        The run to report.
    path : str or path-like
        Target file; must end in ``.xlsx`` and its folder must exist. Replaced if present.
    sensitivity : DataFrame, optional
        A sensitivity table (e.g. columns input, low, high, npv_low, npv_high, swing),
        written to the ``Sensitivity`` sheet. In it and in ``extra_sheets``, numeric
        columns whose names contain a word of :data:`MONEY_WORDS` (``npv``, ``swing``,
        ``cost``...) get the currency format; other large numbers get thousands separators.
    extra_sheets : mapping of str to DataFrame, optional
        Further tables (waterfalls, say), one sheet each, named by the key.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    CxsimError
        If the path does not end in ``.xlsx``, its folder does not exist, it is a
        folder, or a sheet name or table is unusable.

    Examples
    --------
    >>> import cxsim, tempfile, pathlib
    >>> from cxsim.outputs.excel import write_workbook
    >>> result = cxsim.simulate("tests/scenarios/minimal.yaml", draws=20, seed=1)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     written = write_workbook(result, pathlib.Path(folder) / "case.xlsx")
    ...     written.name
    'case.xlsx'
    """
    target = _check_path(path)
    extras = _check_tables(sensitivity, extra_sheets)

    book = Workbook()
    _write_summary(book.active, result)
    _write_assumptions(book.create_sheet(SHEETS[1]), result)
    _write_cash_flow(book.create_sheet(SHEETS[2]), result)
    _write_lagging(book.create_sheet(SHEETS[3]), result)
    for name, frame in extras.items():
        _write_frame(book.create_sheet(name), frame)

    # A unique name in the same folder keeps os.replace atomic (same file system);
    # not mkstemp, whose 0600 mode would then stick to the workbook.
    staging = target.with_name(f".{target.stem}-{uuid.uuid4().hex[:8]}.xlsx")
    try:
        book.save(staging)
        os.replace(staging, target)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    return target


# ----------------------------------------------------------------------------- checks
def _check_path(path: str | os.PathLike[str]) -> Path:
    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        raise CxsimError(f"{target}: an Excel workbook path must end in .xlsx")
    if not target.parent.is_dir():
        raise CxsimError(f"{target}: folder {target.parent} does not exist; create it first")
    if target.is_dir():
        raise CxsimError(f"{target}: is a folder, not a workbook file")
    return target


def _check_tables(
    sensitivity: pd.DataFrame | None, extra_sheets: Mapping[str, pd.DataFrame] | None
) -> dict[str, pd.DataFrame]:
    """The optional sheets by name, after checking every name and table at once."""
    tables: dict[str, Any] = {}
    if sensitivity is not None:
        tables[SENSITIVITY] = sensitivity
    problems = []
    taken = {name.lower() for name in (*SHEETS, *tables)}
    for name, frame in (extra_sheets or {}).items():
        if not isinstance(name, str) or not name.strip():
            problems.append(f"extra_sheets: sheet name {name!r} must be a non-empty string")
            continue
        bad = sorted(BAD_SHEET_CHARS.intersection(name))
        if bad:
            problems.append(f"extra_sheets: sheet name {name!r} contains {''.join(bad)!r}")
        if len(name) > MAX_SHEET_NAME:
            problems.append(f"extra_sheets: sheet name {name!r} is longer than 31 characters")
        if name.lower() in taken:
            problems.append(f"extra_sheets: sheet name {name!r} is already used")
        taken.add(name.lower())
        tables[name] = frame
    for name, frame in tables.items():
        if not isinstance(frame, pd.DataFrame):
            what = "sensitivity" if name == SENSITIVITY else f"extra_sheets[{name!r}]"
            problems.append(f"{what}: expected a pandas DataFrame, got {type(frame).__name__}")
    if problems:
        raise CxsimError("\n".join(problems))
    return tables


# ------------------------------------------------------------------------------ sheets
def _write_summary(ws: Worksheet, result: BaseResult) -> None:
    ws.title = SHEETS[0]
    summary = result.summary()
    facts = [
        ("Scenario", result.scenario.name),
        ("Seed", result.seed),
        ("Draws", result.draws),
        ("Horizon (months)", result.horizon),
        ("Date", dt.date.today().isoformat()),
    ]
    for row, (label, value) in enumerate(facts, start=1):
        ws.cell(row, 1, label).font = BOLD
        ws.cell(row, 2, value).alignment = Alignment(horizontal="left")

    frame = summary.frame
    # Unit last: it explains the numbers to its left.
    columns = [c for c in frame.columns if c != "unit"] + ["unit"]
    top = len(facts) + 2
    _header(ws, top, ["Measure", *(SUMMARY_HEADERS.get(c, str(c)) for c in columns)])
    for row, (label, record) in enumerate(frame.iterrows(), start=top + 1):
        ws.cell(row, 1, str(label))
        fmt = UNIT_FORMATS.get(record["unit"], "#,##0.00")
        for col, name in enumerate(columns, start=2):
            if name == "unit":
                ws.cell(row, col, record["unit"])
            else:
                _put(ws, row, col, record[name], "0%" if name == "defined_share" else fmt)
    last = top + len(frame)
    ws.freeze_panes = ws.cell(top + 1, 2)
    _fit_columns(ws, last)
    _notes(ws, last + 2, summary.notes)


def _write_assumptions(ws: Worksheet, result: BaseResult) -> None:
    _header(ws, 1, ["Input", "Kind", "Value or mean", "P10", "P50", "P90", "Distribution"])
    inputs = result.scenario.inputs()
    for row, item in enumerate(inputs, start=2):
        value = item.value
        if isinstance(value, Distribution):
            kind = value.to_dict()["dist"]
            numbers = [value.mean(), *(value.quantile(q) for q in (0.1, 0.5, 0.9))]
            text = value.describe()
        else:
            kind, numbers, text = "fixed", [float(value)] * 4, ""
        ws.cell(row, 1, item.path)
        ws.cell(row, 2, kind)
        fmt = _plain_format(numbers)
        for col, number in enumerate(numbers, start=3):
            _put(ws, row, col, number, fmt)
        ws.cell(row, 7, text)
    ws.freeze_panes = "B2"

    top = len(inputs) + 3
    ws.cell(top, 1, "Correlations (rank)").font = BOLD
    _header(ws, top + 1, ["Input", "With", "rho"])
    correlations = list(result.scenario.correlations or [])
    for row, corr in enumerate(correlations, start=top + 2):
        first, second = corr.between
        ws.cell(row, 1, first)
        ws.cell(row, 2, second)
        _put(ws, row, 3, corr.rho, "0.00")
    if not correlations:
        ws.cell(top + 2, 1, "none: uncertain inputs are drawn independently")
    _fit_columns(ws, top + 1 + len(correlations))


def _write_cash_flow(ws: Worksheet, result: BaseResult) -> None:
    labels, starts, _ = _years(result.horizon)
    _header(ws, 1, ["Line", "Statistic", *labels])
    cash = result.yearly("incremental_cash_flow")  # (draw, year)
    series = {
        "Programme cost": result.yearly("programme_cost"),
        "Incremental profit": result.yearly("incremental_profit"),
        "Incremental cash flow": cash,
        "Cumulative cash flow": np.cumsum(cash, axis=1),
    }
    row = 2
    for line, values in series.items():
        quantiles = np.quantile(values, list(QUANTILES.values()), axis=0)  # (q, year)
        stats = {"mean": values.mean(axis=0), **dict(zip(QUANTILES, quantiles, strict=True))}
        for stat, numbers in stats.items():
            ws.cell(row, 1, line)
            ws.cell(row, 2, stat)
            for col, number in enumerate(numbers, start=3):
                _put(ws, row, col, number, MONEY)
            row += 1
    ws.freeze_panes = "C2"
    _fit_columns(ws, row - 1)
    _notes(
        ws,
        row + 1,
        [
            "Sums over each year's months per draw, then the mean and quantiles over draws; "
            "a quantile of a sum is not the sum of quantiles, so p5 rows do not add up.",
            "Incremental cash flow = incremental profit (programme minus baseline) "
            "minus programme cost; cumulative cash flow adds the years up to each year.",
        ],
    )


def _write_lagging(ws: Worksheet, result: BaseResult) -> None:
    labels, _, ends = _years(result.horizon)
    last_months = [end - 1 for end in ends]
    _header(ws, 1, ["Segment", "Metric", "Series", *labels])
    row = 2
    for segment in [*result.segments, "all"]:
        for metric, fmt in LAGGING_FORMATS.items():
            means = result.means_at(metric, segment, last_months)  # (arm, year)
            rows = {
                "programme": (means[0], fmt),
                "baseline": (means[1], fmt),
                "change": (means[0] - means[1], SIGNED.get(fmt, fmt)),
            }
            for arm, (numbers, number_format) in rows.items():
                ws.cell(row, 1, segment)
                ws.cell(row, 2, metric)
                ws.cell(row, 3, arm)
                for col, number in enumerate(numbers, start=4):
                    _put(ws, row, col, number, number_format)
                row += 1
    ws.freeze_panes = "D2"
    _fit_columns(ws, row - 1)
    _notes(
        ws,
        row + 1,
        [
            "Each figure is the mean over draws of the value in the last month of the year; "
            "churn is monthly; segment 'all' sums counts and money and weights rates by "
            "customers."
        ],
    )


def _write_frame(ws: Worksheet, frame: pd.DataFrame) -> None:
    """A table as it is; a named index becomes the first columns."""
    if not isinstance(frame.index, pd.RangeIndex) or any(frame.index.names):
        frame = frame.reset_index()
    _header(ws, 1, [str(c) for c in frame.columns])
    for col, name in enumerate(frame.columns, start=1):
        column = frame.iloc[:, col - 1]  # by position: column names may repeat
        fmt = _column_format(str(name), column)
        for row, value in enumerate(column.tolist(), start=2):
            _put(ws, row, col, value, fmt)
    ws.freeze_panes = "A2"
    _fit_columns(ws, len(frame) + 1)


# ----------------------------------------------------------------------------- helpers
def _years(horizon: int) -> tuple[list[str], list[int], list[int]]:
    """Year labels, first months and end months (exclusive); months 0–11 are year 1."""
    starts = list(range(0, horizon, 12))
    ends = [min(start + 12, horizon) for start in starts]
    labels = []
    for index, (start, end) in enumerate(zip(starts, ends, strict=True), start=1):
        short = f" ({end - start} months)" if end - start < 12 else ""
        labels.append(f"Year {index}{short}")
    return labels, starts, ends


def _put(ws: Worksheet, row: int, col: int, value: Any, number_format: str | None) -> None:
    """One cell: a number with its format, text as is, and "n/a" for a missing number."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        value = NA
    elif isinstance(value, float) and not math.isfinite(value):
        value = NA
    cell = ws.cell(row, col)
    if value == NA:
        cell.value = NA
        # Right-aligned so it sits in the column of numbers it stands for.
        cell.alignment = Alignment(horizontal="right")
    elif isinstance(value, bool | str | int | float | dt.date):
        cell.value = value
        if number_format and isinstance(value, int | float) and not isinstance(value, bool):
            cell.number_format = number_format
    else:
        cell.value = str(value)


def _header(ws: Worksheet, row: int, labels: Sequence[str]) -> None:
    for col, label in enumerate(labels, start=1):
        cell = ws.cell(row, col, label)
        cell.font = BOLD
        cell.alignment = Alignment(horizontal="center" if col > 1 else "left", wrap_text=True)


def _notes(ws: Worksheet, row: int, notes: Iterable[str]) -> None:
    notes = list(notes)
    if not notes:
        return
    ws.cell(row, 1, "Notes").font = BOLD
    for offset, note in enumerate(notes, start=1):
        ws.cell(row + offset, 1, note)


def _fit_columns(ws: Worksheet, last_row: int) -> None:
    """Column widths from the table's cells; notes below ``last_row`` may overflow."""
    widths: dict[int, int] = {}
    for cells in ws.iter_rows(min_row=1, max_row=last_row):
        for cell in cells:
            if cell.value is None:
                continue
            if isinstance(cell.value, int | float) and not isinstance(cell.value, bool):
                # Formatted numbers: thousands separators and a sign, roughly.
                text = f"{cell.value:,.0f}" if abs(cell.value) >= 1 else f"{cell.value:.4f}"
            else:
                text = str(cell.value)
            widths[cell.column] = max(widths.get(cell.column, 0), len(text))
    for col, width in widths.items():
        ws.column_dimensions[get_column_letter(col)].width = min(max(width + 3, 8), MAX_WIDTH)


def _plain_format(numbers: Sequence[float]) -> str:
    """A format for numbers of unknown unit: thousands separators when large, else as typed."""
    finite = [abs(x) for x in numbers if math.isfinite(x)]
    return "#,##0" if finite and max(finite) >= 1000 else "General"


def _column_format(name: str, column: pd.Series) -> str | None:
    if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return None
    if any(word in name.lower() for word in MONEY_WORDS):
        return MONEY
    return _plain_format(column.dropna().astype(float).tolist())
