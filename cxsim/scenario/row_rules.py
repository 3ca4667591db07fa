"""The cross-field rules, row by row, for inputs fed by samples tables.

:mod:`~cxsim.scenario.checks` checks the scenario's own values (a distribution at its largest
value). A table's columns come together, one row per draw, so the same rules must hold in
every row: a segment's pain shares (work groups and journeys) sum to at most 1 and its
promoters and detractors too, its customers fit its market, and a perpetuity grows more
slowly than every discount rate.
Values not in the table count at their largest (smallest for the discount rate); two
tables feeding one rule count each other at their worst row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from cxsim.errors import Problem
from cxsim.scenario.schema import ScenarioModel, value_range
from cxsim.uncertainty.distributions import Distribution
from cxsim.uncertainty.samples import Empirical

if TYPE_CHECKING:
    from cxsim.scenario.problems import ProblemReport

__all__ = ["ROW_LIMIT", "check_rows"]

# Rows listed per column and kind of problem; beyond it, the rest are counted.
ROW_LIMIT = 10


def check_rows(
    model: ScenarioModel,
    inputs: Mapping[str, float | Distribution],
    feeds: Mapping[str, Empirical],
    report: ProblemReport,
) -> None:
    """Report every row of a table that breaks a cross-field rule."""
    for name in model.segments:
        parts = [
            f"work_groups.{g}.pain_share.{name}"
            for g, group in model.work_groups.items()
            if name in group.pain_share
        ]
        parts += [
            f"journeys.{j}.pain_share.{name}"
            for j, journey in model.journeys.items()
            if name in journey.pain_share
        ]
        _sum_rule(
            parts,
            inputs,
            feeds,
            1 + 1e-9,
            report,
            f"pain shares of segment {name!r} sum to more than 1 in this row",
            "Σ over work groups and journeys ≤ 1 per segment in every row (shares not in a "
            "table at their largest value)",
        )
        _sum_rule(
            [f"segments.{name}.promoters", f"segments.{name}.detractors"],
            inputs,
            feeds,
            1 + 1e-12,
            report,
            "promoters + detractors exceed 1 in this row",
            "promoters + detractors ≤ 1 in every row",
        )
        _market_rule(name, inputs, feeds, report)
    terminal = model.terminal_value
    rate = feeds.get("discount_rate")
    if rate is not None and terminal is not None and terminal.method == "perpetuity":
        rows = np.flatnonzero(rate.values <= terminal.growth)
        _rows(
            report,
            rate,
            rows,
            rate.values,
            "at or below the perpetuity's growth (terminal_value.growth), which then has no "
            "finite value",
            f"an annual rate above {terminal.growth:g}",
        )


def _market_rule(
    name: str,
    inputs: Mapping[str, float | Distribution],
    feeds: Mapping[str, Empirical],
    report: ProblemReport,
) -> None:
    """No more customers than the market holds, in every row (the other side at its worst)."""
    customers, market = f"segments.{name}.customers", f"segments.{name}.market_size"
    if market not in inputs or (customers not in feeds and market not in feeds):
        return
    if customers in feeds:
        fed = feeds[customers]
        limit = (
            float(feeds[market].values.min()) if market in feeds else value_range(inputs[market])[0]
        )
        if market in feeds and feeds[market].stream == fed.stream:
            limit = feeds[market].values
        rows = np.flatnonzero(fed.values > limit)
        _rows(
            report,
            fed,
            rows,
            fed.values,
            "more customers than the market holds",
            "at most market_size in every row",
        )
    else:
        fed = feeds[market]
        largest = value_range(inputs[customers])[1]
        rows = np.flatnonzero(fed.values < largest)
        _rows(
            report,
            fed,
            rows,
            fed.values,
            "a market smaller than the segment's customers",
            f"at least {largest:g} (customers at their largest)",
        )


def _sum_rule(
    parts: list[str],
    inputs: Mapping[str, float | Distribution],
    feeds: Mapping[str, Empirical],
    limit: float,
    report: ProblemReport,
    message: str,
    allowed: str,
) -> None:
    by_stream: dict[str, list[Empirical]] = {}
    for path in parts:
        if path in feeds:
            by_stream.setdefault(feeds[path].stream, []).append(feeds[path])
    if not by_stream:
        return
    fixed = sum(value_range(inputs[p])[1] for p in parts if p not in feeds and p in inputs)
    sums = {k: np.sum([f.values for f in fed], axis=0) for k, fed in by_stream.items()}
    for stream, fed in by_stream.items():
        others = fixed + sum(float(s.max()) for k, s in sums.items() if k != stream)
        total = sums[stream] + others  # (row,)
        _rows(report, fed[0], np.flatnonzero(total > limit), total, message, allowed)


def _rows(
    report: ProblemReport,
    feed: Empirical,
    rows: np.ndarray,
    got: np.ndarray,
    message: str,
    allowed: str,
) -> None:
    table = feed.table
    for row in rows[:ROW_LIMIT]:
        value = round(float(got[row]), 6)
        report.items.append(Problem(table.where(int(row)), feed.name, message, value, allowed))
    if len(rows) > ROW_LIMIT:
        report.items.append(
            Problem(
                table.shown,
                feed.name,
                f"{len(rows) - ROW_LIMIT} more rows: {message.removesuffix(' in this row')}",
                has_got=False,
            )
        )
