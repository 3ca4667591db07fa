"""The business case in one table: NPV, ROI, IRR, payback and the horizon changes.

:class:`Summary` is what ``result.summary()`` returns (text, and HTML in Jupyter);
:func:`format_value` is how every table prints a number of a given unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["SUMMARY_ROWS", "Summary", "format_value"]

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
}


@dataclass
class Summary:
    """The business case in one table (``frame``) with notes on undefined values."""

    frame: pd.DataFrame
    notes: list[str]
    title: str

    @classmethod
    def from_outcomes(cls, outcomes: pd.DataFrame, horizon: int, title: str) -> Summary:
        rows, notes = {}, []
        many = len(outcomes) > 1
        for key, (label, unit) in SUMMARY_ROWS.items():
            values = outcomes[key].to_numpy()
            defined = values[~np.isnan(values)]
            row: dict[str, Any] = {"unit": unit}
            if many:
                if defined.size:
                    row.update(
                        mean=defined.mean(),
                        p5=np.quantile(defined, 0.05),
                        p50=np.quantile(defined, 0.5),
                        p95=np.quantile(defined, 0.95),
                    )
                else:
                    row.update(mean=None, p5=None, p50=None, p95=None)
            else:
                row["value"] = float(values[0]) if defined.size else None
            row["defined_share"] = defined.size / len(values)
            rows[label] = row
            if defined.size < len(values):
                notes.append(_undefined_note(key, 1 - defined.size / len(values), many, horizon))
        frame = pd.DataFrame.from_dict(rows, orient="index")
        if many:
            npv = outcomes["npv"].to_numpy()
            pay = outcomes["payback_months"].to_numpy()
            extra = pd.DataFrame.from_dict(
                {
                    "P(NPV > 0)": {"unit": "probability", "mean": float((npv > 0).mean())},
                    f"P(payback within {horizon} months)": {
                        "unit": "probability",
                        "mean": float((~np.isnan(pay)).mean()),
                    },
                },
                orient="index",
            )
            frame = pd.concat([frame, extra])
        return cls(frame, notes, title)

    def value(self, label: str, column: str | None = None) -> Any:
        """One figure by row label (e.g. ``"NPV"``); column defaults to value or mean."""
        column = column or ("value" if "value" in self.frame.columns else "mean")
        return self.frame.loc[label, column]

    def __repr__(self) -> str:
        return self.to_text()

    def to_text(self) -> str:
        cols = [c for c in ("value", "mean", "p5", "p50", "p95") if c in self.frame.columns]
        width = max(len(str(i)) for i in self.frame.index) + 2
        lines = [self.title, "".ljust(width) + "".join(c.rjust(16) for c in cols)]
        for label, row in self.frame.iterrows():
            cells = "".join(format_value(row.get(c), row["unit"]).rjust(16) for c in cols)
            lines.append(str(label).ljust(width) + cells)
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    __str__ = to_text

    def _repr_html_(self) -> str:
        shown = self.frame.drop(columns=["defined_share"], errors="ignore").copy()
        for col in shown.columns:
            if col != "unit":
                shown[col] = [
                    format_value(v, u) for v, u in zip(shown[col], shown["unit"], strict=True)
                ]
        notes = "".join(f"<li>{n}</li>" for n in self.notes)
        return shown.drop(columns="unit").to_html() + (f"<ul>{notes}</ul>" if notes else "")


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
