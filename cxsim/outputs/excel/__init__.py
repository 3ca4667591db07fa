"""The business case as an Excel workbook a finance partner can audit and re-price.

Sheets, in order:

- **Summary**: where the result came from, the live results of the expected cash flow (named
  formula cells ``npv``, ``pv_benefit``, ``pv_cost``, ``roi``, ``irr``, ``payback_month``)
  beside cxsim's own figures, and the Monte Carlo summary with its errors.
- **Assumptions**: every input in its unit; the discount rate is the named input cell
  ``discount_rate`` — change it and every result re-prices.
- **Cash flow (monthly)**: the expected cash flow, benefit by money lever and cost by work
  group and capability (one-time and running), totals and discounting as formulas.
- **Cash flow (yearly)**: annual sums of those lines (SUMIF formulas).
- **Risk**: NPV percentiles with Monte Carlo errors, P(NPV > 0), a histogram chart.
- **Lagging (yearly)**: lagging indicators, levels at year end and flows as annual sums.
- **Waterfall**: value by lever (live PV of each line, and Shapley when given) and by work
  group when given (Shapley beside if dropped).
- **Sensitivity** (when given), extra tables (when given), **Provenance**.

Every sheet prints landscape, fitted to the page width, with its header rows repeated; the
Summary and Risk fit one page each. The workbook is written to a temporary file beside the
target and renamed into place, so a failure never leaves a half-written workbook.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from openpyxl import Workbook

from cxsim.errors import CxsimError
from cxsim.outputs.excel.cells import MONEY, NA
from cxsim.outputs.excel.model import (
    ASSUMPTIONS,
    MONTHLY,
    YEARLY,
    write_assumptions,
    write_monthly,
    write_results,
    write_yearly,
)
from cxsim.outputs.excel.risk import (
    LAGGING,
    RISK,
    SUMMARY,
    write_lagging,
    write_risk,
    write_summary,
)
from cxsim.outputs.excel.tables import (
    PROVENANCE,
    SENSITIVITY,
    WATERFALL,
    write_frame,
    write_provenance,
    write_sensitivity,
    write_waterfall,
)

if TYPE_CHECKING:
    from cxsim.outputs.provenance import Provenance
    from cxsim.outputs.views import BaseResult

__all__ = ["MONEY", "NA", "SHEETS", "write_workbook"]

#: The sheets every workbook has, in order (Sensitivity and extra tables come before
#: Provenance when given).
SHEETS = (SUMMARY, ASSUMPTIONS, MONTHLY, YEARLY, RISK, LAGGING, WATERFALL, PROVENANCE)
# Characters Excel refuses in a sheet name, and its length limit.
BAD_SHEET_CHARS = set("[]:*?/\\")
MAX_SHEET_NAME = 31


def write_workbook(
    result: BaseResult,
    path: str | os.PathLike[str],
    sensitivity: pd.DataFrame | None = None,
    *,
    waterfall: pd.DataFrame | None = None,
    group_values: pd.DataFrame | None = None,
    extra_sheets: Mapping[str, pd.DataFrame] | None = None,
    provenance: Provenance | None = None,
) -> Path:
    """Write a result as an Excel workbook (see the module docstring for its sheets).

    Parameters
    ----------
    result : SimulationResult or SummaryResult
        The run to report.
    path : str or path-like
        Target file; must end in ``.xlsx`` and its folder must exist. Replaced if present
        (the command line asks for ``--force`` first).
    sensitivity : DataFrame, optional
        A tornado (columns input, low, high, npv_low, npv_high, swing, ...): the Sensitivity
        sheet, with readable input names and values in their units.
    waterfall : DataFrame, optional
        ``cxsim.waterfall_by_lever`` (columns component, value): Shapley values beside the
        PV of each lever's cash-flow line.
    group_values : DataFrame, optional
        ``cxsim.group_values``: Shapley beside if dropped, by work group.
    extra_sheets : mapping of str to DataFrame, optional
        Further tables, one sheet each, named by the key.
    provenance : Provenance, optional
        Where the result came from (default ``result.provenance()``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    CxsimError
        If the path does not end in ``.xlsx``, its folder does not exist, it is a folder,
        or a sheet name or table is unusable.

    Examples
    --------
    >>> import cxsim, tempfile, pathlib
    >>> result = cxsim.simulate("tests/scenarios/minimal.yaml", draws=20, seed=1)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     written = write_workbook(result, pathlib.Path(folder) / "case.xlsx")
    ...     written.name
    'case.xlsx'
    """
    target = _check_path(path)
    extras = _check_tables(sensitivity, extra_sheets)
    provenance = provenance or result.provenance()

    book = Workbook()
    summary = book.active
    assumptions = book.create_sheet(ASSUMPTIONS)
    monthly = book.create_sheet(MONTHLY)
    yearly = book.create_sheet(YEARLY)
    write_assumptions(assumptions, result)
    model = write_monthly(monthly, result)
    write_yearly(yearly, result, model, monthly)

    def results(ws, row: int) -> int:
        return write_results(ws, row, model, monthly, result)

    write_summary(summary, result, provenance, results)
    write_risk(book.create_sheet(RISK), result)
    write_lagging(book.create_sheet(LAGGING), result)
    write_waterfall(book.create_sheet(WATERFALL), model, monthly, waterfall, group_values)
    for name, frame in extras.items():
        if name == SENSITIVITY:
            write_sensitivity(book.create_sheet(name), frame)
        else:
            write_frame(book.create_sheet(name), name, frame)
    write_provenance(book.create_sheet(PROVENANCE), provenance)

    # A unique name in the same folder keeps os.replace atomic (same file system);
    # not mkstemp, whose 0600 mode would then stick to the workbook. The name is one that
    # cxsim.outputs.folders.clean_leftovers recognises, should this process be killed.
    staging = target.with_name(f".{target.name}.cxsim-staging-{uuid.uuid4().hex[:8]}.xlsx")
    try:
        book.save(staging)
        os.replace(staging, target)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    return target


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
