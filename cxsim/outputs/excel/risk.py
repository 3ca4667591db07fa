"""The workbook's summary, risk and lagging-indicator sheets.

The Summary opens with where the result came from and the live results of the expected cash
flow, then the Monte Carlo table (mean and percentiles, each with its Monte Carlo error). The
Risk sheet shows the NPV distribution: percentiles with errors, P(NPV > 0) and a histogram.
The yearly lagging sheet labels each figure as an end-of-year level or an annual sum.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment
from openpyxl.worksheet.worksheet import Worksheet

from cxsim.outputs.excel.cells import (
    BOLD,
    MONEY,
    PERCENT,
    UNIT_FORMATS,
    fit_columns,
    header,
    notes,
    print_setup,
    put,
    title,
)
from cxsim.outputs.mc_error import proportion_se, quantile_se

if TYPE_CHECKING:
    from cxsim.outputs.provenance import Provenance
    from cxsim.outputs.views import BaseResult

SUMMARY, RISK, LAGGING = "Summary", "Risk", "Lagging (yearly)"
HEADERS = {
    "value": "Value",
    "mean": "Mean",
    "p5": "P5",
    "p50": "P50",
    "p95": "P95",
    "defined_share": "Defined in (share of draws)",
    "censored_share": "Beyond the horizon (share of draws)",
}
SHARES = ("defined_share", "censored_share")
# Lagging indicators: levels are read at the end of each year, flows summed over it.
LEVELS = {
    "customers": ("#,##0", "customers"),
    "churn": ("0.00%", "monthly churn"),
    "retention_12m": (PERCENT, "12-month retention"),
    "nps": ("0.0", "NPS (points)"),
    "share_of_wallet": (PERCENT, "share of wallet"),
    "clv": (MONEY, "CLV per customer"),
}
FLOWS = {"revenue": (MONEY, "revenue"), "profit": (MONEY, "profit")}
# A change reads better with its sign (and a change in a rate is in percentage points).
SIGNED = {
    "#,##0": "+#,##0;-#,##0",
    "0.00%": '+0.000" pt";-0.000" pt"',
    PERCENT: '+0.00" pt";-0.00" pt"',
    "0.0": "+0.0;-0.0",
}
PERCENT_POINTS = {"0.00%": 100.0, PERCENT: 100.0}  # rate changes are written in points
HISTOGRAM_BINS = 30


def write_summary(ws: Worksheet, result: BaseResult, provenance: Provenance, model_rows) -> int:
    """Provenance lines, the live results (``model_rows(ws, row)`` writes them) and the
    Monte Carlo summary; returns the last row used."""
    ws.title = SUMMARY
    row = title(ws, f"Business case: {result.scenario.name}", _subtitle(provenance))
    row = model_rows(ws, row) + 1
    summary = result.summary()
    frame = summary.frame
    stats = [c for c in ("value", "mean", "p5", "p50", "p95") if c in frame.columns]
    columns = []
    for stat in stats:
        columns.append(stat)
        if f"{stat}_se" in frame.columns:
            columns.append(f"{stat}_se")
    columns += [c for c in ("defined_share", "censored_share") if c in frame.columns]
    labels = [HEADERS.get(c, "± (Monte Carlo error)") for c in columns]
    header(ws, row, [f"Over {result.draws:,} draws", *labels])
    top = row
    for row, (label, record) in enumerate(frame.iterrows(), start=top + 1):
        put(ws, row, 1, str(label))
        fmt = UNIT_FORMATS.get(record["unit"], "#,##0.00")
        if record["unit"] == "pp":  # stored as a difference of shares: show it in points
            fmt = '+0.00" pt";-0.00" pt"'
        censored = (record.get("censored_share") or 0) > 0
        for col, name in enumerate(columns, start=2):
            value = record[name]
            pp = record["unit"] == "pp" and name not in SHARES
            if pp and value is not None and np.isfinite(value):
                value = 100.0 * value
            if name.endswith("_se") and fmt.startswith("+"):
                fmt_se = fmt.split(";")[0].lstrip("+")
            else:
                fmt_se = fmt
            if name in SHARES:
                fmt_se = "0%"
            elif value == np.inf:  # a percentile among the draws beyond the horizon
                value = f"> {result.horizon}"
            elif name == "mean" and censored:  # those draws counted at the horizon
                fmt_se = f'"≥ "{fmt}'
            cell = put(ws, row, col, value, fmt_se)
            if isinstance(value, str):
                cell.alignment = Alignment(horizontal="right")
    last = row
    fit_columns(ws, last, minimum=12)
    ws.column_dimensions["A"].width = 44
    row = notes(
        ws,
        last + 2,
        [
            *summary.notes,
            "Mean, P5, P50 and P95 are over draws; ± is the Monte Carlo standard error of each.",
            "The live results above are those of the expected (mean) cash flow: NPV and its "
            "parts equal the mean over draws; ROI, IRR and payback of the expected cash flow "
            "are not the means of the draws' ROI, IRR and payback.",
            *_rate_note(result),
        ],
    )
    print_setup(ws, one_page=True)
    return row


def _rate_note(result: BaseResult) -> list[str]:
    from cxsim.uncertainty.distributions import Distribution

    if not isinstance(result.scenario.discount_rate, Distribution):
        return []
    return [
        "The discount rate is uncertain: the workbook discounts the expected cash flow at its "
        "median, so its NPV differs from cxsim's mean NPV over draws (each at its own rate)."
    ]


def _subtitle(provenance: Provenance) -> str:
    overrides = len(provenance.overrides)
    return (
        f"{provenance.file}, seed {provenance.seed}, {provenance.draws:,} draws, cxsim "
        f"{provenance.cxsim_version}, run {provenance.date}; "
        + (f"{overrides} override{'s' * (overrides > 1)}" if overrides else "no overrides")
        + " (see Provenance)"
    )


def write_risk(ws: Worksheet, result: BaseResult) -> None:
    """NPV percentiles with their Monte Carlo errors, P(NPV > 0) and a histogram chart."""
    ws.title = RISK
    npv = result.npv[np.isfinite(result.npv)]
    row = title(
        ws,
        "Risk: the distribution of the NPV over draws",
        "Each percentile with its Monte Carlo standard error (binomial order statistics).",
    )
    header(ws, row, ["Statistic", "NPV", "± (Monte Carlo error)"])
    levels = (0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95)
    for offset, q in enumerate(levels, start=1):
        put(ws, row + offset, 1, f"P{round(q * 100)}")
        put(ws, row + offset, 2, float(np.quantile(npv, q)), MONEY)
        put(ws, row + offset, 3, quantile_se(npv, q), MONEY)
    r = row + len(levels) + 1
    put(ws, r, 1, "Mean")
    put(ws, r, 2, float(npv.mean()), MONEY)
    put(ws, r, 3, result.mc_error("npv", "mean"), MONEY)
    share = float((npv > 0).mean()) if npv.size else float("nan")
    put(ws, r + 1, 1, "P(NPV > 0)")
    put(ws, r + 1, 2, share, PERCENT)
    put(ws, r + 1, 3, proportion_se(share, npv.size) if npv.size else None, PERCENT)
    top = r + 3
    ws.cell(top, 1, "Histogram of the NPV").font = BOLD
    header(ws, top + 1, ["From", "To", "Draws"])
    counts, edges = np.histogram(npv, bins=min(HISTOGRAM_BINS, max(npv.size, 1)))
    for k, count in enumerate(counts):
        put(ws, top + 2 + k, 1, float(edges[k]), MONEY)
        put(ws, top + 2 + k, 2, float(edges[k + 1]), MONEY)
        put(ws, top + 2 + k, 3, int(count), "#,##0")
    last = top + 1 + len(counts)
    chart = BarChart()
    chart.title = f"NPV over {result.draws:,} draws"
    chart.y_axis.title = "draws"
    chart.x_axis.title = "NPV (bin start)"
    chart.add_data(Reference(ws, min_col=3, min_row=top + 1, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=top + 2, max_row=last))
    chart.x_axis.number_format = "#,##0"
    chart.gapWidth = 10
    chart.legend = None
    chart.width, chart.height = 22, 10
    ws.add_chart(chart, f"E{row}")
    fit_columns(ws, last, minimum=14)
    print_setup(ws, one_page=True)


def write_lagging(ws: Worksheet, result: BaseResult) -> None:
    """Lagging indicators per year: levels at each year's end, flows summed over the year."""
    ws.title = LAGGING
    row = title(
        ws,
        "Lagging indicators by year (means over draws)",
        "Levels (customers, churn, retention, NPS, share of wallet, CLV) are read in the last "
        "month of each year; revenue and profit are annual sums. Change = programme − baseline; "
        "changes in a rate are in percentage points.",
    )
    years = -(-result.horizon // 12)
    labels = [f"Year {y}" for y in range(1, years + 1)]
    header(ws, row, ["Segment", "Indicator", "Read as", "Series", *labels])
    top = row
    ends = [min(12 * y, result.horizon) - 1 for y in range(1, years + 1)]
    for segment in [*result.segments, "all"]:
        for metric, (fmt, name) in {**LEVELS, **FLOWS}.items():
            if metric in LEVELS:
                means, read = result.means_at(metric, segment, ends), "end of year"
            else:
                months = list(range(result.horizon))
                monthly = result.means_at(metric, segment, months)
                means = np.add.reduceat(monthly, list(range(0, result.horizon, 12)), axis=1)
                read = "annual sum"
            change = means[0] - means[1]
            change_fmt = SIGNED.get(fmt, fmt)
            if fmt in PERCENT_POINTS:
                change = change * PERCENT_POINTS[fmt]
            series = {
                "programme": (means[0], fmt),
                "baseline": (means[1], fmt),
                "change": (change, change_fmt),
            }
            for arm, (numbers, number_format) in series.items():
                row += 1
                put(ws, row, 1, segment)
                put(ws, row, 2, name)
                put(ws, row, 3, read)
                put(ws, row, 4, arm)
                for col, number in enumerate(numbers, start=5):
                    put(ws, row, col, float(number), number_format)
    ws.freeze_panes = ws.cell(top + 1, 5)
    fit_columns(ws, row, minimum=12)
    print_setup(ws, f"{top}:{top}")
