"""The workbook's finance model: assumptions, the expected cash flow, and live results.

The expected cash flow is written month by month as the mean over draws of each line — the
incremental profit by money lever (docs/model.md §5) and the cost of every work group and
capability, one-time and running — with totals, discount factors and the results as
formulas. So a partner can audit every figure, and changing the named cell ``discount_rate``
re-prices the case: the NPV of the expected cash flow is cxsim's mean NPV (the mean of a sum
is the sum of means), at any rate, since no cash flow depends on the rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from openpyxl.worksheet.worksheet import Worksheet

from cxsim.model.responses import LEVERS
from cxsim.outputs.excel.cells import (
    BOLD,
    INPUT_FILL,
    MONEY,
    PERCENT,
    column_range,
    fit_columns,
    header,
    name_cell,
    number_format,
    print_setup,
    put,
    title,
)
from cxsim.outputs.summary import LEVER_LABELS
from cxsim.scenario.units import describe
from cxsim.uncertainty.distributions import Distribution

if TYPE_CHECKING:
    from cxsim.outputs.views import BaseResult

ASSUMPTIONS, MONTHLY, YEARLY = "Assumptions", "Cash flow (monthly)", "Cash flow (yearly)"
# The named results and how each is computed from the monthly sheet (filled in below).
RESULTS = ("npv", "pv_benefit", "pv_cost", "roi", "irr", "payback_month")


@dataclass
class CashFlowModel:
    """Where the monthly sheet keeps what other sheets refer to."""

    first: int  # first month's row
    last: int  # last month's row
    columns: dict[str, int]  # line → column: month, year, factor, each lever, totals, ...

    def range(self, ws: Worksheet, line: str) -> str:
        return column_range(ws, self.columns[line], self.first, self.last)


def write_assumptions(ws: Worksheet, result: BaseResult) -> None:
    """Every input with its unit, p10/p50/p90 for distributions; ``discount_rate`` named."""
    ws.title = ASSUMPTIONS
    top = title(
        ws,
        "Assumptions",
        "Every input of the scenario; uncertain ones as distributions with their p10, p50 and "
        "p90. The discount rate (yellow) is live: change it and the workbook re-prices.",
    )
    header(ws, top, ["Input", "Path", "Unit", "Value or mean", "P10", "P50", "P90", "Kind"])
    inputs = result.scenario.inputs()
    row = top
    for row, item in enumerate(inputs, start=top + 1):
        label, unit = describe(item.path)
        value = item.value
        if isinstance(value, Distribution):
            numbers = [value.mean(), *(value.quantile(q) for q in (0.1, 0.5, 0.9))]
            kind = value.describe()
        else:
            numbers, kind = [float(value), None, None, None], "fixed"
        fmt = number_format(unit, [n for n in numbers if n is not None])
        put(ws, row, 1, label)
        put(ws, row, 2, item.path)
        put(ws, row, 3, unit)
        for col, number in enumerate(numbers, start=4):
            if number is not None:
                put(ws, row, col, number, fmt)
        put(ws, row, 8, kind)
        if item.path == "discount_rate":
            # The median of an uncertain rate; the note on the monthly sheet says so.
            rate = numbers[0] if not isinstance(value, Distribution) else value.quantile(0.5)
            cell = put(ws, row, 4, rate, "0.00%")
            cell.fill = INPUT_FILL
            cell.font = BOLD
            name_cell(ws, row, 4, "discount_rate")
    last = row
    ws.freeze_panes = ws.cell(top + 1, 2)
    row = last + 2
    ws.cell(row, 1, "Correlations (rank)").font = BOLD
    header(ws, row + 1, ["Input", "With", "rho"])
    correlations = list(result.scenario.correlations or [])
    for offset, corr in enumerate(correlations, start=row + 2):
        put(ws, offset, 1, corr.between[0])
        put(ws, offset, 2, corr.between[1])
        put(ws, offset, 3, corr.rho, "0.00")
    if not correlations:
        put(ws, row + 2, 1, "none: uncertain inputs are drawn independently")
    fit_columns(ws, last)
    ws.column_dimensions["B"].width = 18  # paths are long and secondary; names come first
    print_setup(ws, f"{top}:{top}")


def write_monthly(ws: Worksheet, result: BaseResult) -> CashFlowModel:
    """The expected monthly cash flow with formulas for every total."""
    ws.title = MONTHLY
    top = title(
        ws,
        "Expected cash flow by month (mean over draws; money per month)",
        "Benefit = incremental profit against the no-programme baseline, by money lever; cost "
        "= the programme's spend by work group and capability. Totals, discount factors and "
        "cumulative lines are formulas.",
    )
    horizon = result.horizon
    first, last = top + 1, top + horizon
    items = [*result.work_groups, *result.capabilities, *result.shifts]
    lines: list[tuple[str, str, np.ndarray | None]] = [("Month", "month", None)]
    lines += [("Year", "year", None), ("Discount factor", "factor", None)]
    lines += [
        (f"Benefit: {LEVER_LABELS[lever]}", lever, result.band(("lever", lever)).mean)
        for lever in LEVERS
    ]
    lines.append(("Benefit total", "benefit", None))
    for item in items:
        kind = "work group" if item in result.work_groups else "capability"
        for part, label in (("one_time", "one-time"), ("running", "running")):
            mean = result.band(("cost", item, part)).mean
            lines.append((f"Cost: {item} ({kind}), {label}", f"cost:{item}:{part}", mean))
    lines += [("Cost total", "cost", None), ("Net cash flow", "net", None)]
    lines += [("Cumulative net cash flow", "cumulative", None)]
    lines += [("Discounted net cash flow", "discounted", None)]
    columns = {key: col for col, (_, key, _) in enumerate(lines, start=1)}
    header(ws, top, [label for label, _, _ in lines])
    ws.row_dimensions[top].height = 45
    letter = {key: ws.cell(1, col).column_letter for key, col in columns.items()}
    benefits = [lever for lever in LEVERS]
    costs = [key for _, key, _ in lines if key.startswith("cost:")]
    for t in range(horizon):
        r = first + t
        put(ws, r, columns["month"], t + 1, "0")
        put(ws, r, columns["year"], t // 12 + 1, "0")
        # cxsim's convention: month t's cash is discounted at its end, (1 + i)^(−(t+1)/12).
        put(ws, r, columns["factor"], f"=(1+discount_rate)^(-{letter['month']}{r}/12)", "0.0000")
        for _, key, values in lines:
            if values is not None:
                put(ws, r, columns[key], float(values[t]), MONEY)
        put(ws, r, columns["benefit"], _sum(letter, benefits, r), MONEY)
        put(ws, r, columns["cost"], _sum(letter, costs, r) if costs else 0.0, MONEY)
        put(ws, r, columns["net"], f"={letter['benefit']}{r}-{letter['cost']}{r}", MONEY)
        previous = f"+{letter['cumulative']}{r - 1}" if t else ""
        put(ws, r, columns["cumulative"], f"={letter['net']}{r}{previous}", MONEY)
        put(ws, r, columns["discounted"], f"={letter['net']}{r}*{letter['factor']}{r}", MONEY)
    ws.freeze_panes = ws.cell(first, 2)
    fit_columns(ws, last, minimum=11)
    for col in range(4, len(lines) + 1):
        ws.column_dimensions[ws.cell(1, col).column_letter].width = 14
    print_setup(ws, f"{top}:{top}")
    return CashFlowModel(first, last, columns)


def _sum(letter: dict[str, str], keys: list[str], row: int) -> str:
    return "=" + "+".join(f"{letter[key]}{row}" for key in keys)


def write_yearly(ws: Worksheet, result: BaseResult, model: CashFlowModel, monthly: Worksheet):
    """Annual sums of the monthly lines, as SUMIF formulas over the monthly sheet."""
    ws.title = YEARLY
    top = title(
        ws,
        "Expected cash flow by year (annual sums of the monthly sheet)",
        "Each figure is =SUMIF over its year's months; the last year may be partial.",
    )
    years = -(-result.horizon // 12)
    labels = [
        f"Year {y}"
        + (f" ({result.horizon - 12 * (y - 1)} months)" if 12 * y > result.horizon else "")
        for y in range(1, years + 1)
    ]
    header(ws, top, ["Line (annual sum)", *labels, "Total"])
    year_range = model.range(monthly, "year")
    shown = [key for key in model.columns if key not in ("month", "year", "factor")]
    names = {key: monthly.cell(model.first - 1, col).value for key, col in model.columns.items()}
    row = top
    for row, key in enumerate(shown, start=top + 1):
        put(ws, row, 1, names[key])
        if key in ("cumulative",):
            # A running total: the year's last month, not a sum.
            put(ws, row, 1, "Cumulative net cash flow (at year end)")
            for y in range(1, years + 1):
                end = min(model.first + 12 * y - 1, model.last)
                col = monthly.cell(1, model.columns[key]).column_letter
                put(ws, row, 1 + y, f"='{monthly.title}'!{col}{end}", MONEY)
            continue
        for y in range(1, years + 1):
            cell = ws.cell(row, 1 + y)
            formula = f"=SUMIF({year_range},{y},{model.range(monthly, key)})"
            put(ws, row, 1 + y, formula, MONEY)
            cell.number_format = MONEY
        total = f"=SUM({ws.cell(row, 2).coordinate}:{ws.cell(row, 1 + years).coordinate})"
        put(ws, row, 2 + years, total, MONEY)
        if key in ("benefit", "cost", "net"):
            for col in range(1, years + 3):
                ws.cell(row, col).font = BOLD
    ws.freeze_panes = ws.cell(top + 1, 2)
    fit_columns(ws, row, minimum=14)
    print_setup(ws, f"{top}:{top}")


def write_results(ws: Worksheet, row: int, model: CashFlowModel, monthly: Worksheet, result):
    """The named results as formulas over the monthly sheet, beside cxsim's own figures."""
    header(ws, row, ["Result of the expected cash flow (live)", "Workbook", "cxsim", "How"])
    month = model.range(monthly, "month")
    factor = model.range(monthly, "factor")
    net, cumulative = model.range(monthly, "net"), model.range(monthly, "cumulative")
    benefit, cost = model.range(monthly, "benefit"), model.range(monthly, "cost")
    npv, pvb, pvc = (result.npv_parts[k].mean() for k in range(3))
    rows = [
        ("npv", "NPV", f"=SUMPRODUCT({net},{factor})", npv, MONEY, "Σ net × discount factor"),
        ("pv_benefit", "PV of benefit", f"=SUMPRODUCT({benefit},{factor})", pvb, MONEY, ""),
        ("pv_cost", "PV of cost", f"=SUMPRODUCT({cost},{factor})", pvc, MONEY, ""),
        (
            "roi",
            "ROI",
            '=IF(pv_cost>0,(pv_benefit-pv_cost)/pv_cost,"n/a")',
            (pvb - pvc) / pvc if pvc > 0 else None,
            PERCENT,
            "(PV benefit − PV cost) / PV cost",
        ),
        (
            "irr",
            "IRR (annual)",
            f'=IFERROR((1+IRR({net},0.01))^12-1,"n/a")',
            _irr(result),
            PERCENT,
            "monthly IRR, annualised: (1 + r)^12 − 1",
        ),
        (
            "payback_month",
            "Payback (months)",
            f'=IF(INDEX({cumulative},ROWS({cumulative}))<0,"> {result.horizon}",'
            f'IF(COUNTIF({cumulative},"<0")=0,0,SUMPRODUCT(MAX(({cumulative}<0)*{month}))+1))',
            _payback(result),
            "0",
            "months until cumulative cash turns non-negative and stays so",
        ),
    ]
    rows += _terminal_rows(result, model, monthly)
    for offset, (name, label, formula, value, fmt, how) in enumerate(rows, start=1):
        r = row + offset
        put(ws, r, 1, label)
        put(ws, r, 2, formula, fmt).font = BOLD
        name_cell(ws, r, 2, name)
        put(ws, r, 3, value, fmt)
        put(ws, r, 4, how)
    return row + len(rows) + 1


def _terminal_rows(result, model: CashFlowModel, monthly: Worksheet) -> list[tuple]:
    """The terminal value and the NPV with it, when the scenario asks for one."""
    terminal = result.scenario.terminal_value
    if terminal is None:
        return []
    value = float(result.outcomes["terminal_value"].mean())
    if terminal.method == "perpetuity":
        col = monthly.cell(1, model.columns["net"]).column_letter
        last_year = f"'{monthly.title}'!${col}${model.last - 11}:${col}${model.last}"
        g = terminal.growth
        to_today = f"(1+discount_rate)^(-{result.horizon}/12)"
        formula = f"=SUM({last_year})*(1+{g})/(discount_rate-{g})*{to_today}"
        how = f"last year's net cash flow growing {g:.1%} a year for ever, discounted to today"
    else:
        formula = value
        how = "incremental customers' CLV beyond the horizon less the running cost (cxsim)"
    return [
        ("terminal_value", "Terminal value (beyond the horizon)", formula, value, MONEY, how),
        (
            "npv_with_terminal",
            "NPV with terminal value",
            "=npv+terminal_value",
            float(result.outcomes["npv_with_terminal"].mean()),
            MONEY,
            "shown beside the NPV, never in it",
        ),
    ]


def expected_net(result) -> np.ndarray:
    """The expected monthly net cash flow the workbook writes (mean benefit − mean cost)."""
    benefit = sum(result.band(("lever", lever)).mean for lever in LEVERS)
    items = [*result.work_groups, *result.capabilities, *result.shifts]
    cost = sum(result.band(("cost", i, p)).mean for i in items for p in ("one_time", "running"))
    return benefit - cost


def _irr(result) -> float:
    from cxsim.model.finance import irr

    return float(irr(expected_net(result)[None])[0])


def _payback(result) -> float | str:
    from cxsim.model.finance import payback_month

    value = float(payback_month(expected_net(result)[None])[0])
    return f"> {result.horizon}" if np.isnan(value) else value
