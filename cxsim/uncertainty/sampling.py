"""Scenario inputs → one array of draws per input (docs/model.md §6).

Every numeric input has a dotted path (``segments.core.arpu``). A plain number is
repeated; a distribution is sampled from a counter-based stream keyed by the seed and
the input's path, so draw ``i`` depends only on ``(seed, path, i)``: the first 1,000
draws of a 2,000-draw run equal a 1,000-draw run, whatever the chunking, and adding
an input to a scenario does not move the draws of the others. Rank correlations
between inputs are imposed with a Gaussian copula. Inputs fed by a ``samples:`` table are
read row by row: draw ``i`` reads one row of each table, picked by the stream named after
the table (:func:`~cxsim.uncertainty.samples.pick_rows`), for all the columns it feeds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cxsim.errors import ScenarioError

if TYPE_CHECKING:
    from cxsim.scenario import Scenario
from cxsim.uncertainty.copula import check_correlation, sample
from cxsim.uncertainty.distributions import Distribution
from cxsim.uncertainty.samples import Empirical, pick_rows
from cxsim.uncertainty.streams import stream_id


def new_seed() -> int:
    """A fresh random seed (recorded in the result so the run can be repeated)."""
    return int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def draw_inputs(
    scenario: Scenario, seed: int, start: int, stop: int, fixed: dict[str, float] | None = None
) -> dict[str, np.ndarray]:
    """Draws ``start..stop-1`` of every numeric input, keyed by dotted path.

    ``fixed`` pins inputs to a number for every draw (used by sensitivity analysis); a
    pinned input fed by a table is not read from it, its table's other columns still are.
    """
    n = stop - start
    fixed = fixed or {}
    values: dict[str, np.ndarray] = {}
    uncertain = []
    tables: dict[str, list[tuple[str, Empirical]]] = {}  # stream -> (path, column) read
    for item in scenario.inputs():
        if item.path in fixed:
            values[item.path] = np.full(n, float(fixed[item.path]))
        elif isinstance(item.value, Empirical):
            tables.setdefault(item.value.stream, []).append((item.path, item.value))
        elif isinstance(item.value, Distribution):
            uncertain.append(item)
        else:
            values[item.path] = np.full(n, float(item.value))
    for stream, columns in tables.items():
        # One row per draw for every column of the table: their joint law is kept.
        rows = pick_rows(seed, stream, columns[0][1].rows, start, stop)  # (draw,)
        for path, column in columns:
            values[path] = column.values[rows]
    if not uncertain:
        return values

    correlated = {name for c in scenario.correlations for name in c.between}
    free = [i for i in uncertain if i.path not in correlated]
    linked = [i for i in uncertain if i.path in correlated]
    if free:
        block = sample(
            [_spec(i.value) for i in free], [stream_id(i.path) for i in free], seed, start, stop
        )
        values.update({i.path: row for i, row in zip(free, block, strict=True)})
    if linked:
        names = [i.path for i in linked]
        pairs = [
            (c.between[0], c.between[1], c.rho)
            for c in scenario.correlations
            if c.between[0] in names and c.between[1] in names
        ]
        pearson, problems = check_correlation(names, pairs)
        if problems:
            raise ScenarioError("; ".join(problems))
        block = sample(
            [_spec(i.value) for i in linked],
            [stream_id(i.path) for i in linked],
            seed,
            start,
            stop,
            pearson,
        )
        values.update({i.path: row for i, row in zip(linked, block, strict=True)})
    return values


def _spec(value: float | Distribution) -> Distribution:
    assert isinstance(value, Distribution)  # only uncertain inputs are sampled
    return value
