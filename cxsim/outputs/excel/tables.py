"""The workbook's analysis sheets: where the value comes from, what drives it, provenance.

- Waterfall: the expected NPV split by money lever — the Shapley values when given, beside
  the PV of each lever's line of the monthly cash flow (live formulas) — and, when given, by
  work group: Shapley beside "if dropped" (the NPV lost when the group alone is left out).
- Sensitivity: the tornado with each input's readable name and its values in its unit.
- Provenance: what fixes the result, so it can be re-run exactly.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd
from openpyxl.worksheet.worksheet import Worksheet

from cxsim.model.responses import LEVERS
from cxsim.outputs.excel.cells import (
    BOLD,
    MONEY,
    fit_columns,
    header,
    notes,
    number_format,
    print_setup,
    put,
    title,
)
from cxsim.outputs.summary import LEVER_LABELS
from cxsim.scenario.units import describe

if TYPE_CHECKING:
    from cxsim.outputs.excel.model import CashFlowModel
    from cxsim.outputs.provenance import Provenance

WATERFALL, SENSITIVITY, PROVENANCE = "Waterfall", "Sensitivity", "Provenance"
GROUP_HEADERS = {
    "item": "Work group or capability",
    "shapley": "Shapley value",
    "if_dropped": "NPV lost if dropped (with what requires it)",
    "if_dropped_se": "± (Monte Carlo error)",
    "if_alone": "NPV if funded alone",
    "if_alone_se": "± (Monte Carlo error)",
    "unblocks": "Unblocks",
}
# Columns of a table whose names contain one of these words hold money.
MONEY_WORDS = ("npv", "swing", "cost", "profit", "cash", "revenue", "benefit", "clv", "amount")
MONEY_WORDS += ("shapley", "dropped", "alone", "value", "base")


def write_waterfall(
    ws: Worksheet,
    model: CashFlowModel,
    monthly: Worksheet,
    by_lever: pd.DataFrame | None,
    by_group: pd.DataFrame | None,
) -> None:
    ws.title = WATERFALL
    row = title(
        ws,
        "Where the value comes from",
        "By money lever: the PV of each benefit line of the monthly cash flow (live) and, "
        "when computed, its Shapley value; by work group: Shapley beside if dropped.",
    )
    header(ws, row, ["Money lever", "PV of its cash-flow line (live)", "Shapley value"])
    factor = model.range(monthly, "factor")
    # waterfall_by_lever's rows: the levers in LEVERS order, then programme cost and NPV.
    shapley = [None] * (len(LEVERS) + 2) if by_lever is None else list(by_lever["value"])
    for offset, lever in enumerate(LEVERS, start=1):
        put(ws, row + offset, 1, LEVER_LABELS[lever])
        formula = f"=SUMPRODUCT({model.range(monthly, lever)},{factor})"
        put(ws, row + offset, 2, formula, MONEY)
        put(ws, row + offset, 3, shapley[offset - 1], MONEY)
    r = row + len(LEVERS) + 1
    put(ws, r, 1, "Programme cost").font = BOLD
    put(ws, r, 2, "=-pv_cost", MONEY)
    put(ws, r, 3, shapley[len(LEVERS)], MONEY)
    put(ws, r + 1, 1, "NPV").font = BOLD
    put(ws, r + 1, 2, "=npv", MONEY).font = BOLD
    put(ws, r + 1, 3, shapley[len(LEVERS) + 1], MONEY)
    lines = [
        "The cash-flow lines split each month's incremental profit by a variance analysis "
        "(docs/model.md §5) and add up exactly; Shapley values split the expected PV over "
        "every order of switching levers on. They differ only in how interactions between "
        "the levers that add customers are shared.",
    ]
    if by_lever is not None and "draws" in by_lever.attrs:
        lines.append(f"Shapley values from {by_lever.attrs['draws']:,} draws.")
    last = notes(ws, r + 3, lines)
    if by_group is not None:
        last = _groups(ws, last + 1, by_group)
    fit_columns(ws, last, minimum=14)
    ws.column_dimensions["A"].width = 30
    print_setup(ws, one_page=True)


def _groups(ws: Worksheet, row: int, values: pd.DataFrame) -> int:
    """Group values: Shapley beside if dropped (and if alone), with why they differ."""
    frame = values.reset_index() if values.index.name else values
    columns = [c for c in frame.columns if c not in ("kind",)]
    header(ws, row, [GROUP_HEADERS.get(str(c), str(c).replace("_", " ")) for c in columns])
    for offset, record in enumerate(frame.itertuples(index=False), start=1):
        for col, name in enumerate(columns, start=1):
            value = getattr(record, name) if name.isidentifier() else record[col - 1]
            put(ws, row + offset, col, value, MONEY if _is_money(name) else None)
    why = values.attrs.get("notes") or [
        "Shapley averages each group's contribution over every order of funding; if dropped "
        "is what this plan loses without it — the number for 'should we cut it?'."
    ]
    return notes(ws, row + len(frame) + 2, why, heading="Why Shapley and if dropped differ")


def write_sensitivity(ws: Worksheet, table: pd.DataFrame) -> None:
    """A tornado (or any table of inputs): names readable, values in each input's unit."""
    ws.title = SENSITIVITY
    row = title(
        ws,
        "Sensitivity: NPV as each input moves, the others held",
        "Input values in their own units; NPV at the low and high value, and the swing.",
    )
    if "input" not in table.columns:
        _frame(ws, row, table)
        return
    columns = ["input", *(c for c in table.columns if c != "input")]
    header(ws, row, ["Input", "Unit", *(str(c).replace("_", " ") for c in columns[1:])])
    for offset, record in enumerate(table[columns].itertuples(index=False), start=1):
        r = row + offset
        label, unit = describe(str(record[0]))
        put(ws, r, 1, label)
        put(ws, r, 2, unit)
        for col, name in enumerate(columns[1:], start=3):
            value = record[col - 2]
            if name in ("low", "high", "base_value", "value"):
                fmt = number_format(unit, [value] if isinstance(value, float) else [])
            else:
                fmt = MONEY if _is_money(name) else None
            put(ws, r, col, value, fmt)
    last = row + len(table)
    put(ws, last + 2, 1, "Paths of the inputs (as in the scenario file):").font = BOLD
    for offset, path in enumerate(table["input"].astype(str), start=1):
        put(ws, last + 2 + offset, 1, path)
    fit_columns(ws, last, minimum=12)
    ws.column_dimensions["A"].width = 48
    print_setup(ws, f"{row}:{row}")


def write_provenance(ws: Worksheet, provenance: Provenance) -> None:
    ws.title = PROVENANCE
    row = title(
        ws,
        "Provenance: what fixes these numbers",
        "The same files (same SHA-256), overrides, seed, draws and cxsim version give the "
        "same numbers, draw for draw.",
    )
    for offset, (label, text) in enumerate(provenance.rows(), start=0):
        put(ws, row + offset, 1, label).font = BOLD
        put(ws, row + offset, 2, text)
    ws.column_dimensions["A"].width = 40
    ws.column_dimensions["B"].width = 90
    print_setup(ws)


def write_frame(ws: Worksheet, name: str, frame: pd.DataFrame) -> None:
    ws.title = name
    _frame(ws, 1, frame)


def _frame(ws: Worksheet, row: int, frame: pd.DataFrame) -> None:
    """A table as it is; a named index becomes the first columns."""
    if not isinstance(frame.index, pd.RangeIndex) or any(frame.index.names):
        frame = frame.reset_index()
    header(ws, row, [str(c) for c in frame.columns])
    for col, name in enumerate(frame.columns, start=1):
        column = frame.iloc[:, col - 1]  # by position: column names may repeat
        fmt = _column_format(str(name), column)
        for offset, value in enumerate(column.tolist(), start=1):
            put(ws, row + offset, col, value, fmt)
    ws.freeze_panes = ws.cell(row + 1, 1)
    fit_columns(ws, row + len(frame))
    print_setup(ws, f"{row}:{row}")


def _is_money(name: str) -> bool:
    return any(word in name.lower() for word in MONEY_WORDS)


def _column_format(name: str, column: pd.Series) -> str | None:
    if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return None
    if _is_money(name):
        return MONEY
    finite = [abs(x) for x in column.dropna().astype(float) if math.isfinite(x)]
    return "#,##0" if finite and max(finite) >= 1000 else "General"
