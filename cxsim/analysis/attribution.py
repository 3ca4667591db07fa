"""Where the value comes from: NPV waterfalls by lever and by work group.

Both split the expected NPV with **Shapley values** (Shapley 1953): a lever's (or a
group's) share is its marginal contribution averaged over every order in which the
levers (groups) could be switched on. Shapley shares always add up exactly to the
whole, and they split interaction effects evenly — e.g. retention keeps customers
whose wallet gain then also counts, and a work group that others require gets credit
for what it unblocks.

- By lever: the value function is the expected PV of incremental profit with only the
  levers in a coalition responding (retention, share of wallet, referrals, cost to
  serve, and acquisition lifted by branding); the programme cost is one more bar, so
  the bars sum to the expected NPV.
- By work group: the value function is the expected NPV with only the groups in a
  coalition funded (their costs included). With up to ``exact_limit`` groups every
  coalition is evaluated; beyond that, Shapley values are estimated from random
  orderings (each ordering's contributions still sum exactly to the total).

Every coalition runs on the same seed, hence the same random draws (common random
numbers), so differences come from the coalition alone.

References
----------
Shapley, L. S. (1953). A value for n-person games. Contributions to the Theory of
Games II, 307–317.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import combinations
from math import factorial

import numpy as np
import pandas as pd

from cxsim.analysis.evaluate import Evaluation, Evaluator, Variant
from cxsim.model.responses import LEVERS
from cxsim.outputs.summary import LEVER_LABELS
from cxsim.scenario import Scenario


def shapley(
    players: Sequence[str],
    value: Callable[[frozenset], float],
    *,
    exact_limit: int = 8,
    permutations: int = 64,
    seed: int = 0,
) -> dict[str, float]:
    """Shapley values of a cooperative game; exact up to ``exact_limit`` players."""
    players = list(players)
    cache: dict[frozenset, float] = {}

    def v(coalition: frozenset) -> float:
        if coalition not in cache:
            cache[coalition] = value(coalition)
        return cache[coalition]

    n = len(players)
    phi = dict.fromkeys(players, 0.0)
    if n <= exact_limit:
        for player in players:
            others = [p for p in players if p != player]
            for size in range(n):
                weight = factorial(size) * factorial(n - size - 1) / factorial(n)
                for coalition in combinations(others, size):
                    base = frozenset(coalition)
                    phi[player] += weight * (v(base | {player}) - v(base))
        return phi
    for order in _orderings(n, permutations, seed):
        coalition: frozenset = frozenset()
        for index in order:
            player = players[index]
            grown = coalition | {player}
            phi[player] += (v(grown) - v(coalition)) / permutations
            coalition = grown
    return phi


def coalitions(
    players: Sequence[str], *, exact_limit: int = 8, permutations: int = 64, seed: int = 0
) -> list[frozenset]:
    """Every coalition :func:`shapley` will ask the value of, so they can run as one batch."""
    players = list(players)
    n = len(players)
    if n <= exact_limit:
        return [frozenset(c) for size in range(n + 1) for c in combinations(players, size)]
    seen: dict[frozenset, None] = {frozenset(): None}
    for order in _orderings(n, permutations, seed):
        coalition: frozenset = frozenset()
        for index in order:
            coalition = coalition | {players[index]}
            seen[coalition] = None
    return list(seen)


def _orderings(n: int, permutations: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.permutation(n) for _ in range(permutations)]


def waterfall_by_lever(
    scenario: Scenario, *, draws: int = 500, seed: int = 0, executor=None
) -> pd.DataFrame:
    """Expected NPV split into the five money levers and the programme cost.

    Every coalition of levers runs on the same draws in one batch (inputs sampled once,
    baseline run once). Returns a frame with columns ``component`` and ``value`` whose values
    sum to the expected NPV (the last row, ``NPV``, is that total).
    """
    evaluator = Evaluator(scenario, draws, seed)
    wanted = [c for c in coalitions(LEVERS) if c]
    variants = [Variant(levers=tuple(lever for lever in LEVERS if lever in c)) for c in wanted]
    table = {
        c: float(e.pv_benefit.mean())
        for c, e in zip(wanted, evaluator.evaluate(variants, executor), strict=True)
    }
    table[frozenset()] = 0.0
    phi = shapley(list(LEVERS), table.__getitem__)
    everything = evaluator.evaluate([Variant()], executor)[0]
    total_benefit, cost = float(everything.pv_benefit.mean()), float(everything.pv_cost.mean())
    rows = [{"component": LEVER_LABELS[k], "value": phi[k]} for k in LEVERS]
    rows.append({"component": "Programme cost", "value": -cost})
    rows.append({"component": "NPV", "value": total_benefit - cost})
    return pd.DataFrame(rows)


def coalition_game(
    evaluator: Evaluator,
    players: Sequence[str],
    variant_of: Callable[[frozenset], Variant],
    *,
    exact_limit: int = 8,
    permutations: int = 64,
    seed: int = 0,
    extra: Iterable[frozenset] = (),
    executor=None,
) -> tuple[dict[str, float], dict[frozenset, Evaluation]]:
    """Shapley values of expected NPV over ``players``, and the coalitions behind them.

    Every coalition :func:`shapley` needs, and the ``extra`` ones the caller also wants, run
    as variants of one :meth:`Evaluator.evaluate` call (common random numbers). A coalition's
    value is its expected NPV. Funding no player is the no-programme world, NPV 0 in every
    draw, so the empty coalition is never run (its Evaluation is zeros).
    """
    wanted = coalitions(players, exact_limit=exact_limit, permutations=permutations, seed=seed)
    run = [c for c in dict.fromkeys([*wanted, *extra]) if c]
    evaluations = dict(
        zip(run, evaluator.evaluate([variant_of(c) for c in run], executor), strict=True)
    )
    zeros = np.zeros(evaluator.draws)
    evaluations[frozenset()] = Evaluation(zeros, zeros, zeros, zeros)
    phi = shapley(
        players,
        lambda c: expected_npv(evaluations[c]),
        exact_limit=exact_limit,
        permutations=permutations,
        seed=seed,
    )
    return phi, evaluations


def expected_npv(evaluation: Evaluation) -> float:
    """Expected PV of benefit minus expected PV of cost (the waterfalls' value function)."""
    return float(evaluation.pv_benefit.mean()) - float(evaluation.pv_cost.mean())


def shapley_method(players: int, exact_limit: int, permutations: int) -> str:
    return "exact" if players <= exact_limit else f"{permutations} random orderings"


def waterfall_by_group(
    scenario: Scenario,
    *,
    draws: int = 300,
    seed: int = 0,
    exact_limit: int = 8,
    permutations: int = 64,
    executor=None,
) -> pd.DataFrame:
    """Expected NPV split over work groups (costs included); rows sum to the total NPV.

    Every coalition the Shapley values need runs on the same draws in one batch. For each
    item's loss if dropped and value alone beside its share, see
    :func:`cxsim.analysis.group_values.group_values`.
    """
    groups = list(scenario.work_groups)
    phi, evaluations = coalition_game(
        Evaluator(scenario, draws, seed),
        groups,
        lambda c: Variant(groups_on=tuple(g in c for g in groups)),
        exact_limit=exact_limit,
        permutations=permutations,
        seed=seed,
        executor=executor,
    )
    total = expected_npv(evaluations[frozenset(groups)])
    rows = [{"component": g, "value": phi[g]} for g in groups]
    rows.append({"component": "NPV", "value": total})
    frame = pd.DataFrame(rows)
    method = shapley_method(len(groups), exact_limit, permutations)
    frame.attrs["method"] = f"Shapley values ({method}), {draws} draws, seed {seed}"
    return frame
