"""The tidy per-draw tables of a full simulation result: cash flow, indicators, metrics.

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
