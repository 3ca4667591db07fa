"""The business case in one table: NPV, ROI, IRR, payback and the horizon changes.

:class:`Summary` is what ``result.summary()`` returns (text, and HTML in Jupyter);
:func:`format_value` is how every table prints a number of a given unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cxsim.outputs.mc_error import mean_se, proportion_se, quantile_se

__all__ = ["SUMMARY_ROWS", "Summary", "format_error", "format_quantity", "format_value"]

SUMMARY_ROWS = {
    "npv": ("NPV", "money"),
    "roi": ("ROI", "ratio"),
    "irr": ("IRR (annual)", "ratio"),
    "payback_months": ("Payback (months)", "months"),
    "discounted_payback_months": ("Discounted payback (months)", "months"),
    "pv_benefit": ("PV of incremental profit", "money"),
    "pv_cost": ("PV of programme cost", "money"),
    "nps_change": ("NPS change at horizon (points)", "points"),
    "retention_12m_change": ("12-month retention change at horizon", "pp"),
    "clv_change": ("CLV change at horizon (per customer)", "money"),
    "customers_change": ("Customers gained by horizon", "count"),
    # Only when the scenario asks for a terminal value; shown beside the NPV, never in it.
    "terminal_value": ("Terminal value (PV, beyond the horizon)", "money"),
    "npv_with_terminal": ("NPV with terminal value", "money"),
}


#: How tables and charts name the money levers (docs/model.md §5).
LEVER_LABELS = {
    "retention": "Retention",
    "share_of_wallet": "Share of wallet",
    "referrals": "Referrals",
    "cost_to_serve": "Cost to serve",
    "acquisition": "Acquisition (branding)",
}

#: The statistics a many-draw summary shows; each has a Monte Carlo error column ``<stat>_se``.
STATISTICS = ("mean", "p5", "p50", "p95")
# A figure within this many standard errors of zero could change sign with more draws.
_FLIP_SE = 2.0
#: Outcomes that may not happen within the horizon: a draw that has not paid back by then is
#: censored (its payback lies beyond the horizon), never missing data.
CENSORED = ("payback_months", "discounted_payback_months")


@dataclass
class Summary:
    """The business case in one table (``frame``) with notes on undefined values.

    With many draws each statistic has its Monte Carlo standard error beside it (columns
    ``mean_se``, ``p5_se``, ...: ``sd/√n`` for the mean, the binomial order-statistic method
    for quantiles, ``√(p(1−p)/n)`` for probabilities), and a note says when an NPV figure's
    sign could flip within twice its error.
    """

    frame: pd.DataFrame
    notes: list[str]
    title: str
    horizon: int | None = None  # months; a censored figure reads "> horizon"

    @classmethod
    def from_outcomes(cls, outcomes: pd.DataFrame, horizon: int, title: str) -> Summary:
        rows, notes = {}, []
        many = len(outcomes) > 1
        for key, (label, unit) in SUMMARY_ROWS.items():
            if key not in outcomes:
                continue
            values = outcomes[key].to_numpy()
            defined = values[~np.isnan(values)]
            row: dict[str, Any] = {"unit": unit}
            missing = 1 - defined.size / len(values)
            if key in CENSORED:
                row.update(_censored(values, horizon) if many else {"value": _beyond(values[0])})
                row["censored_share"] = missing
                rows[label] = row
                if missing:
                    notes.append(_censored_note(label, missing, many, horizon))
                continue
            if many:
                row.update(_statistics(defined))
            else:
                row["value"] = float(values[0]) if defined.size else None
            row["defined_share"] = defined.size / len(values)
            rows[label] = row
            if defined.size < len(values):
                notes.append(_undefined_note(key, missing, many, horizon))
        frame = pd.DataFrame.from_dict(rows, orient="index")
        if many:
            npv = outcomes["npv"].to_numpy()
            pay = outcomes["payback_months"].to_numpy()
            shares = {
                "P(NPV > 0)": float((npv > 0).mean()),
                f"P(payback within {horizon} months)": float((~np.isnan(pay)).mean()),
            }
            extra = pd.DataFrame.from_dict(
                {
                    label: {
                        "unit": "probability",
                        "mean": share,
                        "mean_se": proportion_se(share, len(outcomes)),
                    }
                    for label, share in shares.items()
                },
                orient="index",
            )
            frame = pd.concat([frame, extra])
            notes += _sign_notes(frame.iloc[0])  # the NPV row
        return cls(frame, notes, title, horizon)

    def value(self, label: str, column: str | None = None) -> Any:
        """One figure by row label (e.g. ``"NPV"``); column defaults to value or mean."""
        column = column or ("value" if "value" in self.frame.columns else "mean")
        return self.frame.loc[label, column]

    def __repr__(self) -> str:
        return self.to_text()

    def to_text(self, title: bool = True) -> str:
        cols = [c for c in ("value", *STATISTICS) if c in self.frame.columns]
        cells = {label: [self._cell(row, c) for c in cols] for label, row in self.frame.iterrows()}
        widths = [max(16, *(len(cell[i]) + 2 for cell in cells.values())) for i in range(len(cols))]
        width = max(len(str(i)) for i in self.frame.index) + 2
        lines = [self.title] if title else []
        lines.append(
            "".ljust(width) + "".join(c.rjust(w) for c, w in zip(cols, widths, strict=True))
        )
        for label, row_cells in cells.items():
            lines.append(
                str(label).ljust(width)
                + "".join(cell.rjust(w) for cell, w in zip(row_cells, widths, strict=True))
            )
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _cell(self, row: pd.Series, column: str) -> str:
        """``value ± error`` (the error to two significant figures) or the value alone; a
        censored figure reads ``> horizon`` (a percentile) or ``≥ mean`` (a lower bound)."""
        value = row.get(column)
        if isinstance(value, float) and value == np.inf:
            return f"> {self.horizon}"
        text = format_value(value, row["unit"])
        if column == "mean" and (row.get("censored_share") or 0) > 0:
            text = "≥ " + text
        error = row.get(f"{column}_se")
        if text and error is not None and np.isfinite(error) and error > 0:
            text += " ± " + format_error(error, row["unit"])
        return text

    __str__ = to_text

    def _repr_html_(self) -> str:
        cols = [c for c in ("value", *STATISTICS) if c in self.frame.columns]
        shown = pd.DataFrame(
            {c: [self._cell(row, c) for _, row in self.frame.iterrows()] for c in cols},
            index=self.frame.index,
        )
        shown["unit"] = self.frame["unit"]
        notes = "".join(f"<li>{n}</li>" for n in self.notes)
        return shown.drop(columns="unit").to_html() + (f"<ul>{notes}</ul>" if notes else "")


def _statistics(values: np.ndarray) -> dict[str, Any]:
    """Mean, p5, p50 and p95 of the defined draws, each with its Monte Carlo error."""
    if not values.size:
        return {name: None for name in (*STATISTICS, *(f"{s}_se" for s in STATISTICS))}
    out: dict[str, Any] = {
        "mean": values.mean(),
        "p5": np.quantile(values, 0.05),
        "p50": np.quantile(values, 0.5),
        "p95": np.quantile(values, 0.95),
    }
    out["mean_se"] = mean_se(values)
    for name, q in (("p5", 0.05), ("p50", 0.5), ("p95", 0.95)):
        out[f"{name}_se"] = quantile_se(values, q)
    return out


def _sign_notes(row: pd.Series) -> list[str]:
    """Notes for NPV figures whose sign could flip within twice their Monte Carlo error."""
    unsure = [
        f"{name} ({format_value(row[name], 'money')} ± {format_error(row[f'{name}_se'], 'money')})"
        for name in STATISTICS
        if row.get(name) is not None
        and np.isfinite(row.get(f"{name}_se", np.nan))
        and abs(row[name]) < _FLIP_SE * row[f"{name}_se"]
    ]
    if not unsure:
        return []
    return [
        "the sign of NPV " + ", ".join(unsure) + " could flip within its Monte Carlo error: run "
        "more draws (cxsim run --target-error 0.01, or simulate(..., target_error=0.01))"
    ]


def _two_figures(value: float) -> float:
    """A standard error rounded to two significant figures (120,345 → 120,000)."""
    if not value or not np.isfinite(value):
        return value
    return float(f"{value:.2g}")


def _censored(values: np.ndarray, horizon: int) -> dict[str, Any]:
    """Statistics of an outcome that may lie beyond the horizon (NaN there).

    Percentiles count those draws as later than any month of the run (+∞): a percentile
    that falls among them is infinite (shown as "> horizon"). The mean counts them at the
    horizon, so it is a lower bound whenever any draw is censored.
    """
    beyond = np.isnan(values)
    if not beyond.any():
        return _statistics(values)
    padded = np.where(beyond, np.inf, values)
    out: dict[str, Any] = {}
    with np.errstate(invalid="ignore"):  # ∞ − ∞ between two censored draws: NaN, handled
        for name, q in (("p5", 0.05), ("p50", 0.5), ("p95", 0.95)):
            value = float(np.quantile(padded, q))
            out[name] = value if np.isfinite(value) else np.inf
            error = quantile_se(padded, q)
            out[f"{name}_se"] = error if np.isfinite(error) else np.nan
    # A lower bound has no Monte Carlo error worth showing: its bias is not random.
    out["mean"] = float(np.where(beyond, float(horizon), values).mean())
    out["mean_se"] = np.nan
    return out


def _beyond(value: float) -> float:
    """A single draw's figure; +∞ when it lies beyond the horizon."""
    return np.inf if np.isnan(value) else float(value)


def _censored_note(label: str, share: float, many: bool, horizon: int) -> str:
    if not many:
        return f"{label}: not within the {horizon}-month horizon (> {horizon})"
    return (
        f"{label}: not within the {horizon}-month horizon in {share:.0%} of draws; those "
        f"draws count as later than month {horizon} (censored, not dropped): percentiles "
        f"among them read '> {horizon}', and the mean, which counts them at {horizon} "
        "months, is a lower bound (≥)"
    )


def _undefined_note(key: str, share: float, many: bool, horizon: int) -> str:
    reason = {
        "irr": "the incremental cash flow never changes sign, so no IRR exists",
        "payback_months": f"cumulative cash is still negative at month {horizon}",
        "discounted_payback_months": (
            f"discounted cumulative cash is still negative at month {horizon}"
        ),
        "roi": "the programme costs nothing, so ROI is undefined",
    }.get(key, "undefined")
    label = SUMMARY_ROWS[key][0]
    if many:
        return f"{label}: undefined in {share:.0%} of draws ({reason}); statistics use the rest"
    return f"{label}: n/a — {reason}"


def format_value(value: Any, unit: str) -> str:
    """Readable number for tables: currency with thousands separators, percentages, months."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "" if unit == "probability" else "n/a"
    value = float(value)
    if unit == "money":
        return f"{value:,.0f}"
    if unit in ("ratio", "probability"):
        return f"{value:.1%}"
    if unit == "months":
        return f"{value:.0f}"
    if unit == "points":
        return f"{value:+.1f}"
    if unit == "pp":
        return f"{value * 100:+.2f} pt"
    return f"{value:,.0f}"


def format_quantity(value: Any, unit: str) -> str:
    """An input's value in its unit (:func:`cxsim.scenario.units.describe`): money with
    separators (cents when small), shares and rates as percentages, months, counts.

    >>> [format_quantity(85.5, "money"), format_quantity(0.0094, "share")]
    ['85.50', '0.94%']
    >>> [format_quantity(6, "months"), format_quantity(12_000, "count")]
    ['6.0', '12,000']
    """
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    value = float(value)
    if unit == "money":
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if unit in ("share", "rate"):
        return f"{value:.2%}" if abs(value) >= 0.001 else f"{value:.4%}"
    if unit == "months":
        return f"{value:.1f}"
    if unit == "count":
        return f"{value:,.0f}"
    return f"{value:,.4g}"


def format_error(error: float, unit: str) -> str:
    """A Monte Carlo error to two significant figures, in its figure's unit, without a sign.

    Examples
    --------
    >>> format_error(123_456, "money"), format_error(0.0042, "ratio"), format_error(0.04, "points")
    ('120,000', '0.42%', '0.040')
    """
    scale, suffix = {"ratio": (100, "%"), "probability": (100, "%"), "pp": (100, " pt")}.get(
        unit, (1, "")
    )
    shown = float(error) * scale
    if not np.isfinite(shown) or shown <= 0:
        return f"{shown:g}{suffix}"
    digits = 1 - int(np.floor(np.log10(shown)))  # two significant figures
    return f"{round(shown, digits):,.{max(0, digits)}f}{suffix}"
