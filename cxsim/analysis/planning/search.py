"""Evaluating funding plans on common random numbers, and the searches over them.

A plan's spend is additive over items and priced up front, so plans over the budget are
skipped without simulating; every evaluation is cached by plan and kept in order (the
optimiser's ``history_``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from cxsim.analysis.planning.space import Plan
from cxsim.montecarlo import simulate
from cxsim.outputs.mc_error import mean_se, quantile_se
from cxsim.scenario import Scenario

RISKS = ("mean", "p10")
OBJECTIVE_LABEL = {"mean": "expected NPV", "p10": "p10 NPV"}

# ---------------------------------------------------------------- evaluations


@dataclass(frozen=True)
class Evaluation:
    plan: Plan
    spend: float
    npv_mean: float
    npv_p10: float
    objective: float
    feasible: bool
    # Monte Carlo standard errors of npv_mean, npv_p10 and spend over the plan's draws.
    errors: tuple[float, float, float] = (math.nan, math.nan, math.nan)


class Search:
    """Evaluates plans on common random numbers, caches them and runs the searches."""

    def __init__(self, scenario, items, budget, risk, draws, seed, max_passes, progress):
        self.scenario = scenario
        self.items = items
        self.budget = budget
        self.risk = risk
        self.draws = draws
        self.seed = seed
        self.max_passes = max_passes
        self.cache: dict[Plan, Evaluation | None] = {}
        self.order: list[Evaluation] = []
        self.bar = None
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(desc="optimizing", unit="plan", leave=False)
        self._price_options()

    # -- spend: additive over items, so over-budget plans are skipped unsimulated
    def _price_options(self) -> None:
        """Expected spend of every item option, from the engine's own cost functions.

        A group's or capability's cost depends only on its own plan and cost inputs, so a
        plan's spend is the sum of its items' spends. One parameter build per grid point
        prices that option for every item at once.
        """
        from cxsim.model.leading import capability_cost, programme_cost
        from cxsim.model.operating_model import modelled_capabilities
        from cxsim.model.params import build_params
        from cxsim.uncertainty.sampling import draw_inputs

        groups = list(self.scenario.work_groups)
        capabilities = modelled_capabilities(self.scenario)
        for item in self.items:
            item.spend = [math.nan] * len(item.options)
        width = max(len(item.options) for item in self.items)
        for k in range(width):
            overrides = {}
            for item in self.items:
                if k < len(item.options):
                    overrides.update(item.options[k].overrides)
            scenario = self.variant(overrides)
            params = build_params(scenario, draw_inputs(scenario, self.seed, 0, self.draws))
            group_spend = programme_cost(params).sum(axis=2).mean(axis=0)  # (G,)
            cap_spend = capability_cost(params).sum(axis=2).mean(axis=0)  # (N,)
            for item in self.items:
                if k < len(item.options):
                    item.spend[k] = float(
                        group_spend[groups.index(item.name)]
                        if item.kind == "work_group"
                        else cap_spend[capabilities.index(item.name)]
                    )

    def predicted_spend(self, plan: Plan) -> float:
        return sum(item.spend[k] for item, k in zip(self.items, plan, strict=True) if k is not None)

    def variant(self, overrides: dict[str, Any]) -> Scenario:
        if not overrides:
            return self.scenario
        return self.scenario.with_overrides(overrides, source="optimize")

    def overrides(self, plan: Plan) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for item, k in zip(self.items, plan, strict=True):
            if k is not None:
                out.update(item.options[k].overrides)
        return out

    def evaluate(self, plan: Plan, screen: bool = True) -> Evaluation | None:
        """Simulate a plan (cached).

        With ``screen``, a plan whose spend is known to exceed the budget is not simulated
        (None): spend is additive over items and priced up front.
        """
        if self.cache.get(plan) is not None:
            return self.cache[plan]
        if screen and self.predicted_spend(plan) > self.budget * (1 + 1e-9):
            return None
        on = [item.name for item, k in zip(self.items, plan, strict=True) if k is not None]
        result = simulate(
            self.variant(self.overrides(plan)),
            draws=self.draws,
            seed=self.seed,
            groups_on=on,
            progress=False,
        )
        npv = result.npv
        spends = result.programme_cost.sum(axis=1)
        spend = float(spends.mean())
        mean, p10 = float(npv.mean()), float(np.quantile(npv, 0.1))
        errors = (mean_se(npv), quantile_se(npv, 0.1), mean_se(spends))
        record = Evaluation(
            plan,
            spend,
            mean,
            p10,
            mean if self.risk == "mean" else p10,
            spend <= self.budget,
            errors,
        )
        self.cache[plan] = record
        self.order.append(record)
        if self.bar is not None:
            self.bar.update(1)
        return record

    # -- moves
    def canonical(self, plan: Plan) -> Plan:
        """Leave out every work group whose prerequisite is not funded.

        By the sequence rule (docs/model.md §2) such a group cannot progress at all, so funding
        it would only cost money: it is weakly dominated by leaving it out.
        """
        out = list(plan)
        for i, item in enumerate(self.items):  # prerequisites come first
            if out[i] is not None and any(out[r] is None for r in item.requires):
                out[i] = None
        return tuple(out)

    def move(self, plan: Plan, i: int, k: int | None) -> Plan:
        """Set item ``i`` to option ``k``; funding it funds its unfunded prerequisites too.

        A prerequisite joins at its cheapest option without delay: the sequence rule gates a
        group by how far along its *plan* each prerequisite is, not by the prerequisite's
        target, so a smaller prerequisite target does not hold the group back.
        """
        out = list(plan)
        out[i] = k

        def fund_prerequisites(j: int) -> None:
            for r in self.items[j].requires:
                if out[r] is None:
                    out[r] = self.items[r].enabler
                    fund_prerequisites(r)

        if k is not None:
            fund_prerequisites(i)
        return self.canonical(tuple(out))

    # -- searches
    def ascend(self, start: Evaluation) -> Evaluation:
        """Coordinate ascent: each item in turn takes its best option, others fixed."""
        current = start
        for _ in range(self.max_passes):
            changed = False
            for i, item in enumerate(self.items):
                best = current
                for k in [None, *range(len(item.options))]:
                    candidate = self.move(current.plan, i, k)
                    if candidate == current.plan:
                        continue
                    record = self.evaluate(candidate)
                    if record is not None and record.feasible and better(record, best):
                        best = record
                if best is not current:
                    current, changed = best, True
            if not changed:
                break
        return current

    def trim(self, start: Evaluation) -> Evaluation:
        """From a plan over the budget, cut back (a smaller target, a later start, or not
        funding an item) where the objective lost per unit of spend saved is smallest, until
        the plan fits."""
        current = start
        while not current.feasible:
            best, best_ratio = None, math.inf
            for i, item in enumerate(self.items):
                k_now = current.plan[i]
                if k_now is None:
                    continue
                for k in [None, *range(len(item.options))]:
                    if k is not None and item.spend[k] >= item.spend[k_now]:
                        continue
                    record = self.evaluate(self.move(current.plan, i, k), screen=False)
                    saving = current.spend - record.spend
                    if saving <= 0:
                        continue
                    ratio = (current.objective - record.objective) / saving
                    if ratio < best_ratio:
                        best, best_ratio = record, ratio
            if best is None:  # nothing cheaper: fall back to funding nothing
                return self.evaluate(tuple(None for _ in self.items))
            current = best
        return current

    def greedy(self, start: Evaluation) -> Evaluation:
        """Add, one at a time, the item option with the best objective gain per unit spend."""
        current = start
        while True:
            best, best_ratio = None, -math.inf
            for i, item in enumerate(self.items):
                if current.plan[i] is not None:
                    continue
                for k in range(len(item.options)):
                    record = self.evaluate(self.move(current.plan, i, k))
                    if record is None or not record.feasible:
                        continue
                    gain = record.objective - current.objective
                    if gain <= 0:
                        continue
                    extra = record.spend - current.spend
                    ratio = gain / extra if extra > 0 else math.inf
                    if ratio > best_ratio:
                        best, best_ratio = record, ratio
            if best is None:
                return current
            current = best

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def better(a: Evaluation, b: Evaluation) -> bool:
    """Higher objective wins; on a tie, lower spend."""
    return a.objective > b.objective or (a.objective == b.objective and a.spend < b.spend)
