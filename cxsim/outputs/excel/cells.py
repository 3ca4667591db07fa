"""Writing cells the way a finance partner reads them: formats by unit, headers, print setup.

Every number is written as a number with an Excel format for its unit (money with
separators, shares as percentages, changes in a rate as percentage points, months), never as
text; a figure that does not exist is the text ``"n/a"``, never ``NaN``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.worksheet import Worksheet

NA = "n/a"
BOLD = Font(bold=True)
ITALIC = Font(italic=True, color="555555")
# Cells a partner may change (the discount rate): pale yellow, as finance models mark inputs.
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
MAX_WIDTH = 60

MONEY = "#,##0;[Red]-#,##0"
MONEY_CENTS = "#,##0.00;[Red]-#,##0.00"
PERCENT = "0.0%"
# A format per unit. "pp" is a change in a rate, in percentage points (1.05 pt, not 1.05%).
UNIT_FORMATS = {
    "money": MONEY,
    "ratio": PERCENT,
    "probability": PERCENT,
    "share": "0.00%",
    "rate": "0.00%",
    "pp": '+0.00" pt";-0.00" pt"',
    "months": "0.0",
    "points": "+0.0;-0.0",
    "count": "#,##0",
    "number": "#,##0.00##",
}


def number_format(unit: str, values: Iterable[float] = ()) -> str:
    """The Excel format of a unit; small money amounts keep their cents."""
    if unit == "money":
        finite = [abs(v) for v in values if isinstance(v, int | float) and math.isfinite(v)]
        return MONEY_CENTS if finite and max(finite) < 100 else MONEY
    return UNIT_FORMATS.get(unit, "General")


def put(ws: Worksheet, row: int, col: int, value: Any, fmt: str | None = None):
    """One cell: a number with its format, a formula, text as is, "n/a" for a missing number."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        value = NA
    elif isinstance(value, float) and not math.isfinite(value):
        value = NA
    cell = ws.cell(row, col)
    if value == NA:
        cell.value = NA
        cell.alignment = Alignment(horizontal="right")  # in the column of numbers it stands for
    elif isinstance(value, bool | str | int | float | dt.date):
        cell.value = value
        formula = isinstance(value, str) and value.startswith("=")
        if fmt and (formula or (isinstance(value, int | float) and not isinstance(value, bool))):
            cell.number_format = fmt
    else:
        cell.value = str(value)
    return cell


def header(ws: Worksheet, row: int, labels: Sequence[str], first: int = 1) -> None:
    for col, label in enumerate(labels, start=first):
        cell = ws.cell(row, col, label)
        cell.font = BOLD
        cell.alignment = Alignment(horizontal="center" if col > 1 else "left", wrap_text=True)


def title(ws: Worksheet, text: str, subtitle: str = "") -> int:
    """A sheet's title (and a line under it); returns the first free row."""
    ws.cell(1, 1, text).font = Font(bold=True, size=13)
    if subtitle:
        ws.cell(2, 1, subtitle).font = ITALIC
    return 4 if subtitle else 3


def notes(ws: Worksheet, row: int, lines: Iterable[str], heading: str = "Notes") -> int:
    """Notes under a table; returns the row after them."""
    lines = list(lines)
    if not lines:
        return row
    ws.cell(row, 1, heading).font = BOLD
    for offset, line in enumerate(lines, start=1):
        ws.cell(row + offset, 1, line).alignment = Alignment(wrap_text=False)
    return row + len(lines) + 1


def name_cell(ws: Worksheet, row: int, col: int, name: str) -> str:
    """Give a cell a workbook-wide name (e.g. ``npv``) and return its absolute reference."""
    reference = f"{quote(ws.title)}!${get_column_letter(col)}${row}"
    ws.parent.defined_names[name] = DefinedName(name, attr_text=reference)
    return reference


def quote(sheet: str) -> str:
    """A sheet name as a formula refers to it."""
    return "'" + sheet.replace("'", "''") + "'"


def column_range(ws: Worksheet, col: int, first: int, last: int) -> str:
    """``'Sheet'!$C$5:$C$64``: one column of a table, for SUMPRODUCT and friends."""
    letter = get_column_letter(col)
    return f"{quote(ws.title)}!${letter}${first}:${letter}${last}"


def fit_columns(ws: Worksheet, last_row: int, minimum: int = 8) -> None:
    """Column widths from the table's cells; notes below ``last_row`` may overflow."""
    widths: dict[int, int] = {}
    for cells in ws.iter_rows(min_row=1, max_row=last_row):
        for cell in cells:
            if cell.value is None:
                continue
            if isinstance(cell.value, int | float) and not isinstance(cell.value, bool):
                text = f"{cell.value:,.0f}" if abs(cell.value) >= 1 else f"{cell.value:.4f}"
            elif isinstance(cell.value, str) and cell.value.startswith("="):
                text = "-00,000,000"  # a formula: room for a money figure
            else:
                text = str(cell.value)
            widths[cell.column] = max(widths.get(cell.column, 0), len(text))
    for col, width in widths.items():
        ws.column_dimensions[get_column_letter(col)].width = min(max(width + 3, minimum), MAX_WIDTH)


def print_setup(ws: Worksheet, title_rows: str | None = None, one_page: bool = False) -> None:
    """Landscape, fit to the page width, header rows repeated on every page."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1 if one_page else 0
    if title_rows:
        ws.print_title_rows = title_rows
    ws.print_options.gridLines = False
    ws.page_margins.left = ws.page_margins.right = 0.4
