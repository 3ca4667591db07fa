"""Tidy tables of results: per-draw monthly ones of a full result, and those any result has.

Each is a function of a result (which exposes it as a method or property); tables are built
only when asked, from the result's arrays. Label columns (segment, arm, metric, work group)
are categorical: a tidy frame repeats each label millions of times, and as Python strings
that cost about 60 bytes a row and most of the time to build.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cxsim.errors import CxsimError
from cxsim.model.engine import ARMS
from cxsim.outputs.views import LEVER_LINES

if TYPE_CHECKING:
    from cxsim.outputs.result import SimulationResult
    from cxsim.outputs.views import BaseResult

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
            "work_group": labels(groups.ravel(), result.work_groups),
            "value": result.leading_values.ravel(),
        }
    )


def frame(result: SimulationResult) -> pd.DataFrame:
    """Tidy lagging indicators: draw, month, segment, arm, metric, value."""
    blocks = [(name, label) for name in result.metric_names for label in result.labels_for(name)]
    rows = len(blocks) * 2 * result.draws * result.horizon
    if rows > MAX_FRAME_ROWS:
        raise CxsimError(
            f"the full frame would have {rows:,} rows; use result.quantiles() for the bands, "
            "or result.frame_of(metric) for one metric"
        )
    return _tidy(result, blocks)


def _tidy(result: SimulationResult, blocks: list[tuple[str, str]]) -> pd.DataFrame:
    """Rows (arm, draw, month) of each (metric, segment) block, written straight into the
    columns (no per-block frames to concatenate: the frame is built once, in place)."""
    every_segment = [*result.segments, ALL]
    arms, draws, months = np.meshgrid(
        np.arange(2, dtype=np.int8),
        np.arange(result.draws, dtype=np.int32),
        np.arange(result.horizon, dtype=np.int32),
        indexing="ij",
    )
    size = arms.size
    value = np.empty(len(blocks) * size)
    for k, (name, label) in enumerate(blocks):
        value[k * size : (k + 1) * size] = result.metric(name, label).ravel()  # (arm, draw, month)
    count = len(blocks)
    segment_codes = [every_segment.index(label) for _, label in blocks]
    metric_codes = [result.metric_names.index(name) for name, _ in blocks]
    columns = {
        "draw": np.tile(draws.ravel(), count),
        "month": np.tile(months.ravel(), count),
        "segment": labels(np.repeat(np.array(segment_codes, np.int8), size), every_segment),
        "arm": labels(np.tile(arms.ravel(), count), ARMS),
        "metric": labels(np.repeat(np.array(metric_codes, np.int8), size), result.metric_names),
        "value": value,
    }
    return pd.DataFrame(columns, copy=False)


def labels(codes: np.ndarray, names: list[str] | tuple[str, ...]) -> pd.Categorical[str]:
    """A categorical column: ``names[code]`` per row, stored as codes."""
    return pd.Categorical.from_codes(codes, categories=pd.Index(list(names)))


def yearly_cash_flow(result: BaseResult) -> pd.DataFrame:
    """Per-draw yearly cash flow: draw, year (1, 2, ...), the incremental profit by lever
    (``benefit_retention``, ...), incremental_profit (their sum), programme_cost and
    incremental_cash_flow (sums over the year's months; the last year may be partial)."""
    names = (*LEVER_LINES, "incremental_profit", "programme_cost", "incremental_cash_flow")
    lines = {name: result.yearly(name) for name in names}
    draws, years = lines["incremental_profit"].shape
    draw, year = np.meshgrid(np.arange(draws), np.arange(1, years + 1), indexing="ij")
    table = {"draw": draw.ravel(), "year": year.ravel()}
    table.update({name: values.ravel() for name, values in lines.items()})
    return pd.DataFrame(table)


def leading_quantiles(result: BaseResult) -> pd.DataFrame:
    """Leading indicators' bands: month, work_group, mean, p5, p50, p95 over draws."""
    parts = []
    for g, group in enumerate(result.work_groups):
        band = result.band(("leading", group))
        parts.append(
            pd.DataFrame(
                {
                    "month": np.arange(result.horizon),
                    "work_group": labels(np.full(result.horizon, g), result.work_groups),
                    "mean": band.mean,
                    "p5": band.p5,
                    "p50": band.p50,
                    "p95": band.p95,
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=["month", "work_group", "mean", "p5", "p50", "p95"])
    return pd.concat(parts, ignore_index=True)


def frame_of(
    result: SimulationResult, metric: str, segments: list[str] | None = None
) -> pd.DataFrame:
    """The tidy frame of one metric (all draws), for segments (default: each and ``all``)."""
    if metric not in result.metric_names:
        raise CxsimError(f"unknown metric {metric!r}; known: {', '.join(result.metric_names)}")
    chosen = segments or result.labels_for(metric)
    every_segment = [*result.segments, ALL]
    unknown = [s for s in chosen if s not in every_segment]
    if unknown:
        raise CxsimError(f"unknown segments {unknown}; known: {', '.join(every_segment)}")
    return _tidy(result, [(metric, label) for label in chosen])
