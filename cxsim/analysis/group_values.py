"""What each work group and capability is worth: its Shapley share, its loss if dropped, alone.

Three numbers answer three different questions about an *item* (every work group, and every
capability with a ``plan``: the optimizer's decisions, docs/optimizer.md):

- ``shapley``: the item's share of the full plan's expected NPV, its marginal contribution
  averaged over every order in which the items could be funded (Shapley 1953). The shares
  add up to the full plan's NPV. A prerequisite that others need gets credit for what it
  unblocks; an item whose value arrives only once others are funded shares that value with
  them, and bears its own cost alone in the orders where it comes first.
- ``if_dropped``: the expected NPV lost when the item is left out of the full plan, with the
  items that require it (directly or through a chain of ``requires``): they could not
  progress and would only cost money, and the optimizer never funds them without it. For an
  item nothing requires this is ``v(all) − v(all ∖ {i})``. It is the number for "should we
  cut it?".
- ``if_alone``: the expected NPV of funding the item alone, ``v({i}) − v(∅)``. An item that
  requires another is blocked alone and shows only its cost.

All coalitions run as variants of one :class:`~cxsim.analysis.evaluate.Evaluator` call
(inputs sampled once, common random numbers), the Shapley coalitions included
(:func:`cxsim.analysis.attribution.coalition_game`), so ``if_dropped`` and ``if_alone``
have small Monte Carlo errors: the standard errors of the per-draw differences.

On the flagship (300 draws, seed 0) onboarding's Shapley share is −0.97 M while dropping it
loses 1.99 M. Onboarding requires digital, which requires IT: it comes after both in only a
third of the orders of funding, adding about 1.97 M there; in the other two thirds it is
funded while blocked and adds only its cost, −2.44 M. ``1/3 · 1.97 − 2/3 · 2.44 ≈ −0.97``.
The credit goes to IT, whose share (3.44 M) includes what it unblocks.

References
----------
Shapley, L. S. (1953). A value for n-person games. Contributions to the Theory of
Games II, 307–317.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from cxsim.analysis.attribution import coalition_game, expected_npv, shapley_method
from cxsim.analysis.evaluate import Evaluator, Variant
from cxsim.analysis.planning.space import planned_capabilities
from cxsim.model.operating_model import modelled_capabilities
from cxsim.outputs.mc_error import mean_se
from cxsim.scenario import Scenario, load_scenario
from cxsim.scenario.shifts import shift_names

__all__ = ["WHY_THEY_DIFFER", "group_values"]

COLUMNS = ["kind", "shapley", "if_dropped", "if_dropped_se", "if_alone", "if_alone_se", "unblocks"]
WHY_THEY_DIFFER = (
    "Shapley averages an item's contribution over every order of funding: a prerequisite "
    "that others need gets credit for what it unblocks, and an item whose value arrives only "
    "with others shares it; if dropped is the loss from this plan, the number for "
    '"should we cut it?"'
)


def group_values(
    scenario: Scenario | str | Any,
    *,
    draws: int = 300,
    seed: int = 0,
    exact_limit: int = 8,
    permutations: int = 64,
    executor: Any = None,
) -> pd.DataFrame:
    """Each work group's and planned capability's Shapley share, loss if dropped and value alone.

    Parameters
    ----------
    scenario : Scenario, path or mapping
        The full plan: every work group and every capability with a ``plan`` funded.
        Capabilities without a plan stay at today's level and their cost is left out, as in
        :func:`cxsim.optimize`.
    draws, seed : int
        Monte Carlo draws and the seed every coalition shares (common random numbers).
    exact_limit, permutations : int
        Exact Shapley values with up to ``exact_limit`` items (2^n coalitions); beyond that an
        estimate from ``permutations`` random orderings whose shares still sum to the NPV.
    executor : concurrent.futures.Executor, optional
        Evaluates the coalitions as tasks; the result is the same as without it.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``item`` (work groups in the scenario's order, then capabilities), with
        ``kind`` (``work_group`` or ``capability``), ``shapley``, ``if_dropped``,
        ``if_dropped_se``, ``if_alone``, ``if_alone_se`` and ``unblocks`` (the items that
        require it, directly or through a chain, ``""`` when none; they are dropped with it).
        ``attrs``: ``npv`` (the full plan's expected NPV, the sum of ``shapley``), ``notes``
        (why Shapley and if dropped differ), ``method``.

    Examples
    --------
    >>> import cxsim
    >>> values = cxsim.group_values("scenarios/retail_bank.yaml", draws=20, seed=1)
    >>> list(values.columns)[:4]
    ['kind', 'shapley', 'if_dropped', 'if_dropped_se']
    >>> bool(abs(values["shapley"].sum() - values.attrs["npv"]) < 1e-6 * abs(values.attrs["npv"]))
    True
    >>> values.loc["it", "unblocks"]
    'digital, billing, onboarding (via digital)'
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    groups = list(scenario.work_groups)
    capabilities = planned_capabilities(scenario)
    modelled = modelled_capabilities(scenario)
    shifts = shift_names(list(scenario.acquisition_shifts))  # on/off items, as in the search
    items = [*groups, *capabilities, *shifts]
    dependants = {item: _dependants(scenario, item) for item in items}
    everything = frozenset(items)
    dropped = {item: everything - {item} - set(dependants[item]) for item in items}
    alone = {item: frozenset({item}) for item in items}

    def variant(coalition: frozenset) -> Variant:
        # Capabilities outside the coalition (and those without a plan) are switched off:
        # today's level, no cost.
        on = tuple(c in coalition for c in modelled) if modelled else None
        moved = tuple(m in coalition for m in shifts) if shifts else None
        return Variant(
            groups_on=tuple(g in coalition for g in groups), capabilities_on=on, shifts_on=moved
        )

    phi, evaluations = coalition_game(
        Evaluator(scenario, draws, seed),
        items,
        variant,
        exact_limit=exact_limit,
        permutations=permutations,
        seed=seed,
        extra=[everything, *dropped.values(), *alone.values()],
        executor=executor,
    )
    full = evaluations[everything]
    rows = {}
    for item in items:
        without, only = evaluations[dropped[item]], evaluations[alone[item]]
        rows[item] = {
            "kind": _kind(scenario, item, shifts),
            "shapley": phi[item],
            "if_dropped": expected_npv(full) - expected_npv(without),
            "if_dropped_se": mean_se(full.npv - without.npv),
            "if_alone": expected_npv(only),
            "if_alone_se": mean_se(only.npv),
            "unblocks": _readable(scenario, item, dependants[item]),
        }
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=COLUMNS)
    frame.index.name = "item"
    method = shapley_method(len(items), exact_limit, permutations)
    frame.attrs.update(
        npv=expected_npv(full),
        notes=[WHY_THEY_DIFFER],
        method=f"Shapley values ({method}), {draws} draws, seed {seed}, common random numbers",
    )
    return frame


def _kind(scenario: Scenario, item: str, shifts: list[str]) -> str:
    if item in scenario.work_groups:
        return "work_group"
    return "acquisition_shift" if item in shifts else "capability"


def _dependants(scenario: Scenario, item: str) -> list[str]:
    """Work groups that require ``item`` directly or through a chain, in scenario order."""
    groups = scenario.work_groups
    found: set[str] = set()
    frontier = {item}
    while frontier:
        frontier = {g for g in groups if set(groups[g].requires) & frontier} - found
        found |= frontier
    return [g for g in groups if g in found]


def _readable(scenario: Scenario, item: str, dependants: list[str]) -> str:
    """``"digital, billing, onboarding (via digital)"``: a chain names its first link."""
    parts = []
    for name in dependants:
        requires = scenario.work_groups[name].requires
        if item in requires:
            parts.append(name)
        else:
            via = next(r for r in requires if r in dependants)
            parts.append(f"{name} (via {via})")
    return ", ".join(parts)
