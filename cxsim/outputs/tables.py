"""The tidy tables of a simulation result: cash flow, indicators, bands, horizon, economics.

Each is a function of a :class:`~cxsim.outputs.result.SimulationResult` (which exposes it as
a method or property); tables are built only when asked, from the result's arrays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cxsim.errors import CxsimError
from cxsim.model.engine import ARMS

if TYPE_CHECKING:
    from cxsim.outputs.result import SimulationResult

ALL = "all"
MAX_FRAME_ROWS = 20_000_000
QUANTILES = {"p5": 0.05, "p50": 0.5, "p95": 0.95}


def cash_flow(result: SimulationResult) -> pd.DataFrame:
    """Tidy monthly cash flow."""
    draws, months = np.meshgrid(np.arange(result.draws), np.arange(result.horizon), indexing="ij")
    return pd.DataFrame(
        {
            "draw": draws.ravel(),
            "month": months.ravel(),
            "programme_cost": result.programme_cost.ravel(),
            "incremental_profit": result.incremental_profit.ravel(),
            "incremental_cash_flow": result.incremental_cash_flow.ravel(),
        }
    )


def leading(result: SimulationResult) -> pd.DataFrame:
    """Tidy leading indicators: draw, month, work_group, value."""
    d, g, m = result.leading_values.shape
    draws, groups, months = np.meshgrid(np.arange(d), np.arange(g), np.arange(m), indexing="ij")
    return pd.DataFrame(
        {
            "draw": draws.ravel(),
            "month": months.ravel(),
            "work_group": np.asarray(result.work_groups, dtype=object)[groups.ravel()] if g else [],
            "value": result.leading_values.ravel(),
        }
    )


def frame(result: SimulationResult) -> pd.DataFrame:
    """Tidy lagging indicators: draw, month, segment, arm, metric, value."""
    names = result.metric_names
    labels = [*result.segments, ALL]
    rows = len(names) * len(labels) * 2 * result.draws * result.horizon
    if rows > MAX_FRAME_ROWS:
        raise CxsimError(
            f"the full frame would have {rows:,} rows; use result.quantiles() for the bands, "
            "or result.frame_of(metric) for one metric"
        )
    return pd.concat([result.frame_of(name) for name in names], ignore_index=True)


def frame_of(
    result: SimulationResult, metric: str, segments: list[str] | None = None
) -> pd.DataFrame:
    """The tidy frame of one metric (all draws), for segments (default: each and ``all``)."""
    labels = segments or result.labels_for(metric)
    parts = []
    for label in labels:
        values = result.metric(metric, label)  # (arm, draw, month)
        arms, draws, months = np.meshgrid(
            np.arange(2), np.arange(result.draws), np.arange(result.horizon), indexing="ij"
        )
        parts.append(
            pd.DataFrame(
                {
                    "draw": draws.ravel(),
                    "month": months.ravel(),
                    "segment": label,
                    "arm": np.asarray(ARMS, dtype=object)[arms.ravel()],
                    "metric": metric,
                    "value": values.ravel(),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def quantiles(result: SimulationResult, metrics: list[str] | None = None) -> pd.DataFrame:
    """Compact bands: month, segment, arm, metric, mean, p5, p50, p95 over draws."""
    parts = []
    for name in metrics or result.metric_names:
        for label in result.labels_for(name):
            values = result.metric(name, label)  # (arm, draw, month)
            qs = np.quantile(values, list(QUANTILES.values()), axis=1)  # (q, arm, month)
            arms, months = np.meshgrid(np.arange(2), np.arange(result.horizon), indexing="ij")
            table = {
                "month": months.ravel(),
                "segment": label,
                "arm": np.asarray(ARMS, dtype=object)[arms.ravel()],
                "metric": name,
                "mean": values.mean(axis=1).ravel(),
            }
            table.update({q: qs[i].ravel() for i, q in enumerate(QUANTILES)})
            parts.append(pd.DataFrame(table))
    return pd.concat(parts, ignore_index=True)


def check_month(result: SimulationResult, month: int | None) -> int:
    """A month index of the run (default the last); anything else is a clear error."""
    if month is None:
        return result.horizon - 1
    if isinstance(month, bool) or not isinstance(month, int | np.integer):
        raise CxsimError(f"month must be a whole number (got {month!r})")
    if not 0 <= month < result.horizon:
        raise CxsimError(
            f"month {month} is outside the run: months run from 0 to {result.horizon - 1}"
        )
    return int(month)


def horizon_table(result: SimulationResult, month: int | None = None) -> pd.DataFrame:
    """Lagging indicators at a month (default: the last): programme, baseline, change."""
    month = check_month(result, month)
    rows = []
    for label in [*result.segments, ALL]:
        for name in (
            "customers",
            "churn",
            "retention_12m",
            "nps",
            "share_of_wallet",
            "contacts_per_customer",
            "clv",
            "revenue",
            "profit",
        ):
            values = result.metric(name, label)[:, :, month].mean(axis=1)
            rows.append(
                {
                    "segment": label,
                    "metric": name,
                    "programme": values[0],
                    "baseline": values[1],
                    "change": values[0] - values[1],
                }
            )
    return pd.DataFrame(rows).set_index(["segment", "metric"])


def segment_economics(result: SimulationResult) -> pd.DataFrame:
    """Per segment at month 0 (baseline): margin per customer and forward CLV."""
    rows = []
    for label in result.segments:
        seg = result.scenario.segments[label]
        margin = result.metric("margin_per_customer", label)[1, :, 0].mean()
        clv = result.metric("clv", label)[1, :, 0].mean()
        rows.append(
            {
                "segment": label,
                "customers": result.metric("customers", label)[1, :, 0].mean(),
                "margin_per_customer": margin,
                "clv": clv,
                "costs_more_than_it_earns": bool(margin < 0),
                "description": seg.description,
            }
        )
    return pd.DataFrame(rows).set_index("segment")
