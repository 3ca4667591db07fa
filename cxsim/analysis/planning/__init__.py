"""Which work groups do we fund, how far, and in what order? (docs/model.md §9)

:func:`optimize` searches funding plans under a budget for the best expected NPV, or the
best NPV at a risk level (its p10), and shows the frontier of NPV against spend. See
``docs/optimizer.md`` for the method, how close to optimal it gets and its limits.

The pipeline is visible, one module each: :mod:`~cxsim.analysis.planning.space`,
:mod:`~cxsim.analysis.planning.search`, :mod:`~cxsim.analysis.planning.result`.

1. **Decision space.** Every work group and every capability with a ``plan`` is an
   *item*. An item is either not funded (left out with ``groups_on``: no progress beyond
   today's maturity, no cost) or funded at a fraction ``f`` of its planned target with its
   start month moved ``s`` months later. Funding at ``f`` scales the target (for a
   capability, ``level + f·(target − level)``) *and* the one-time and monthly costs by
   ``f``: cost is assumed proportional to ambition. Uncertain inputs stay uncertain: a
   distribution is rescaled through its parameters (``space.affine``), so every draw of
   the rescaled input is exactly ``f`` times the same draw of the original.
2. **Budget.** A plan's spend is its expected total programme cost over the horizon,
   undiscounted: ``result.programme_cost.sum(axis=1).mean()``. Plans over the budget are
   never chosen.
3. **Objective.** ``risk="mean"``: expected NPV; ``risk="p10"``: the 10th percentile of NPV
   across draws. Every plan runs with the same seed and draws (common random numbers), so
   two plans differ only by what differs between them, not by sampling noise.
4. **Search.** Coordinate ascent over items from three starts (nothing funded, the
   scenario's own plan when affordable, a greedy best-gain-per-spend plan), every
   evaluation cached by plan and recorded in ``history_``.
5. **Why.** What each funded item adds, what each item left out would add, what the next
   budget step buys, and the choice re-checked on fresh draws
   (:mod:`~cxsim.analysis.planning.why`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

from cxsim.analysis.planning.result import OptimizationResult, build_result
from cxsim.analysis.planning.search import RISKS, Search
from cxsim.analysis.planning.space import decision_items
from cxsim.errors import CxsimError
from cxsim.montecarlo.executors import check_executor
from cxsim.scenario import Scenario, load_scenario
from cxsim.uncertainty.streams import check_seed

__all__ = ["RISKS", "OptimizationResult", "optimize"]


def optimize(
    scenario: Scenario | str | Any,
    budget: float,
    *,
    risk: str = "mean",
    draws: int = 1000,
    seed: int = 0,
    targets: Sequence[float] = (0.5, 1.0),
    start_shifts: Sequence[int] = (0, 6, 12),
    max_passes: int = 4,
    progress: bool = False,
    executor: Any = None,
) -> OptimizationResult:
    """Search funding plans within a budget for the best NPV (docs/model.md §9).

    Parameters
    ----------
    scenario : Scenario, path or mapping
        The scenario whose work groups and planned capabilities are the decisions.
    budget : float
        Ceiling on the expected total programme spend over the horizon (undiscounted,
        ``result.programme_cost.sum(axis=1).mean()``).
    risk : {"mean", "p10"}
        Maximise the expected NPV, or the 10th percentile of NPV across draws.
    draws, seed : int
        Monte Carlo draws and the seed every plan shares (common random numbers).
    targets : sequence of float
        Fractions ``0 < f ≤ 1`` of each item's planned target to try; costs scale with ``f``.
    start_shifts : sequence of int
        Months (≥ 0) by which to delay each item's planned start; clipped to the horizon.
    max_passes : int
        Most coordinate-ascent passes per start.
    progress : bool
        Show a progress bar over evaluated plans.
    executor : concurrent.futures.Executor, optional
        Evaluates each search step's candidate plans as tasks (groups of plans over all the
        draws); the result is the same as without it.

    Returns
    -------
    OptimizationResult

    Raises
    ------
    CxsimError
        For a budget ≤ 0, an unknown risk, a bad grid, or a scenario with nothing to fund.

    Examples
    --------
    >>> import cxsim
    >>> best = cxsim.optimize("scenarios/retail_bank.yaml", 20e6, draws=200)  # doctest: +SKIP
    >>> print(best.summary())  # doctest: +SKIP
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    budget = _check_budget(budget)
    if risk not in RISKS:
        raise CxsimError(f"risk must be one of {', '.join(RISKS)} (got {risk!r})")
    for name, value, low in (("draws", draws, 1), ("max_passes", max_passes, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise CxsimError(f"{name} must be a whole number ≥ {low} (got {value!r})")
    check_seed(seed)  # a SeedError (a CxsimError) outside [0, 2**64)
    fractions = _check_grid("targets", targets, lambda f: 0 < f <= 1, "fractions in (0, 1]")
    shifts = _check_grid(
        "start_shifts", start_shifts, lambda s: s >= 0 and float(s).is_integer(), "whole months ≥ 0"
    )
    items = decision_items(scenario, sorted(fractions, reverse=True), sorted(shifts))
    if not scenario.work_groups:
        raise CxsimError(f"scenario {scenario.name!r} has no work groups: nothing to fund")

    search = Search(
        scenario,
        items,
        budget,
        risk,
        int(draws),
        int(seed),
        max_passes,
        progress,
        check_executor(executor),
    )
    try:
        empty = search.evaluate(tuple(None for _ in items))
        assert empty is not None and empty.feasible  # funding nothing costs nothing
        search.ascend(empty)
        own = search.evaluate(search.canonical(tuple(0 for _ in items)), screen=False)
        search.ascend(search.trim(own))
        search.ascend(search.greedy(empty))
        # The best plan met on any path, ascended once more: the "why" tables compare it
        # with its single-item changes, so none of them may be better (when it is already a
        # local optimum its changes are all cached and this costs nothing).
        search.ascend(search.best())
    finally:
        search.close()
    return build_result(search, scenario, own)


def _check_budget(budget: Any) -> float:
    if isinstance(budget, bool) or not isinstance(budget, numbers.Real):
        raise CxsimError(f"budget must be an amount of money (got {budget!r})")
    if not math.isfinite(budget) or budget <= 0:
        raise CxsimError(f"budget must be a positive amount (got {budget!r})")
    return float(budget)


def _check_grid(name: str, values: Sequence, ok, allowed: str) -> list[float]:
    try:
        out = sorted({float(v) for v in values})
    except (TypeError, ValueError):
        raise CxsimError(f"{name} must be a list of numbers (got {values!r})") from None
    if not out or not all(ok(v) for v in out):
        raise CxsimError(f"{name} must be a non-empty list of {allowed} (got {list(values)!r})")
    return out
