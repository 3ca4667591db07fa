"""Evaluating funding plans on common random numbers, and the searches over them.

A plan's spend is additive over items and priced up front, so plans over the budget are
skipped without simulating; every evaluation is cached by plan and kept in order (the
optimiser's ``history_``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cxsim.analysis.evaluate import Edit, Evaluator, Variant
from cxsim.analysis.planning.space import Item, Plan
from cxsim.model.operating_model import modelled_capabilities
from cxsim.montecarlo.finite import check_finite
from cxsim.outputs.mc_error import mean_se, quantile_se
from cxsim.scenario import Scenario

RISKS = ("mean", "p10")
# The searches that only pick starting points for the ascent (the greedy plan, the cuts that
# trim the scenario's own plan to the budget) rank plans on the first quarter of the draws (at
# least 250) to spare three quarters of the work; every plan the answer is chosen from, and
# every plan in the history, is evaluated on all the draws.
QUICK_SHARE, QUICK_MIN = 0.25, 250
# Cuts of the budget trimming that a quick ranking sends on to be decided on all the draws.
CONFIRMED = 6
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
    # NPV per draw, (draw,): two plans' per-draw differences give the error of their gap.
    npv: np.ndarray | None = field(default=None, repr=False, compare=False)


class Search:
    """Evaluates plans on common random numbers, caches them and runs the searches.

    Plans are variants of the scenario for one :class:`~cxsim.analysis.evaluate.Evaluator`:
    the inputs are sampled once, the baseline runs once, and each search step evaluates its
    candidate plans together (on the ``executor`` when one is given).
    """

    def __init__(
        self, scenario, items, budget, risk, draws, seed, max_passes, progress, executor=None
    ):
        self.scenario = scenario
        self.items = items
        self.budget = budget
        self.risk = risk
        self.draws = draws
        self.seed = seed
        self.max_passes = max_passes
        self.executor = executor
        self.evaluator = Evaluator(scenario, draws, seed)
        quick = max(QUICK_MIN, math.ceil(draws * QUICK_SHARE))
        self.quick_evaluator = Evaluator(scenario, quick, seed) if quick < draws else None
        self.groups = len(scenario.work_groups)
        self.capabilities = len(modelled_capabilities(scenario))
        self.cache: dict[Plan, Evaluation | None] = {}
        self.quick_cache: dict[Plan, Evaluation | None] = {}
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
        plan's spend is the sum of its items' spends: each option is priced once, alone.
        """
        for item in self.items:
            alone = [self.variant(self._alone(item, k)) for k in range(len(item.options))]
            item.spend = [float(self.evaluator.spend(v).mean()) for v in alone]

    def _alone(self, item: Item, k: int) -> Plan:
        return tuple(k if other is item else None for other in self.items)

    def predicted_spend(self, plan: Plan) -> float:
        return sum(item.spend[k] for item, k in zip(self.items, plan, strict=True) if k is not None)

    def variant(self, plan: Plan) -> Variant:
        """The plan as switches and edits of the sampled inputs."""
        groups = [False] * self.groups
        capabilities = [False] * self.capabilities
        shifts = [False] * len(self.scenario.acquisition_shifts)
        switches = {"group": groups, "capability": capabilities, "shift": shifts}
        edits = []
        for item, k in zip(self.items, plan, strict=True):
            if k is None:
                continue
            switches[item.engine_kind][item.position] = True
            edits += [
                Edit(item.engine_kind, item.position, name, scale, shift)
                for name, scale, shift in item.options[k].edits
            ]
        on = tuple(shifts) if shifts else None  # None: a scenario without shifts
        return Variant(tuple(groups), tuple(capabilities), edits=tuple(edits), shifts_on=on)

    def overrides(self, plan: Plan) -> dict[str, Any]:
        """The plan as scenario overrides (to write it as a scenario file)."""
        out: dict[str, Any] = {}
        for item, k in zip(self.items, plan, strict=True):
            if k is not None:
                out.update(item.options[k].overrides)
        return out

    def scenario_of(self, plan: Plan) -> Scenario:
        overrides = self.overrides(plan)
        if not overrides:
            return self.scenario
        return self.scenario.with_overrides(overrides, source="optimize")

    def evaluate(self, plan: Plan, screen: bool = True, quick: bool = False) -> Evaluation | None:
        """One plan (cached); see :meth:`evaluate_many`."""
        return self.evaluate_many([plan], screen, quick)[0]

    def evaluate_many(
        self, plans: list[Plan], screen: bool = True, quick: bool = False
    ) -> list[Evaluation | None]:
        """Plans on the common draws, those not seen before evaluated together.

        With ``screen``, a plan whose spend is known to exceed the budget is not simulated
        (None): spend is additive over items and priced up front. ``quick`` ranks plans on
        the first draws only (see ``QUICK_SHARE``); such evaluations stay out of the history.
        """
        if quick and self.quick_evaluator is None:
            quick = False
        cache = self.quick_cache if quick else self.cache
        fresh = []
        for plan in dict.fromkeys(plans):
            if cache.get(plan) is not None:
                continue
            if screen and self.predicted_spend(plan) > self.budget * (1 + 1e-9):
                continue
            fresh.append(plan)
        evaluator = self.quick_evaluator if quick else self.evaluator
        assert evaluator is not None
        results = evaluator.evaluate([self.variant(p) for p in fresh], self.executor)
        for plan, outcome in zip(fresh, results, strict=True):
            npv, spends = outcome.npv, outcome.spend
            check_evaluation(self.scenario, evaluator, npv, spends)
            spend = float(spends.mean())
            mean, p10 = float(npv.mean()), float(np.quantile(npv, 0.1))
            record = Evaluation(
                plan,
                spend,
                mean,
                p10,
                mean if self.risk == "mean" else p10,
                spend <= self.budget,
                (mean_se(npv), quantile_se(npv, 0.1), mean_se(spends)),
                npv,
            )
            cache[plan] = record
            if quick:
                continue
            self.order.append(record)
            if self.bar is not None:
                self.bar.update(1)
        return [cache.get(plan) for plan in plans]

    def best(self) -> Evaluation:
        """The best feasible plan evaluated on all the draws (funding nothing always is)."""
        feasible = [r for r in self.order if r.feasible]
        best = feasible[0]
        for record in feasible[1:]:
            if better(record, best):
                best = record
        return best

    def full(self, record: Evaluation) -> Evaluation:
        """The plan of a quick evaluation, evaluated on all the draws."""
        evaluation = self.evaluate(record.plan, screen=False)
        assert evaluation is not None  # not screened
        return evaluation

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
                candidates = [
                    self.move(current.plan, i, k) for k in [None, *range(len(item.options))]
                ]
                candidates = [c for c in candidates if c != current.plan]
                best = current
                for record in self.evaluate_many(candidates):
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
        the plan fits.

        Each step ranks every cut on the first draws (``quick``) and decides among the
        :data:`CONFIRMED` best on all the draws: cheap, and as good as ranking every cut on
        all of them on the flagship at several seeds.
        """
        current = start
        while not current.feasible:
            cuts = [
                self.move(current.plan, i, k)
                for i, item in enumerate(self.items)
                if current.plan[i] is not None
                for k in [None, *range(len(item.options))]
                if k is None or item.spend[k] < item.spend[current.plan[i]]
            ]
            if self.quick_evaluator is not None:
                quick_now = self.evaluate(current.plan, screen=False, quick=True)
                assert quick_now is not None
                ranked = _cheapest_losses(
                    quick_now, self.evaluate_many(cuts, screen=False, quick=True)
                )
                cuts = [record.plan for record in ranked[:CONFIRMED]]
            ranked = _cheapest_losses(current, self.evaluate_many(cuts, screen=False))
            if not ranked:  # nothing cheaper: fall back to funding nothing
                nothing = self.evaluate(tuple(None for _ in self.items))
                assert nothing is not None
                return nothing
            current = ranked[0]
        return current

    def greedy(self, start: Evaluation) -> Evaluation:
        """Add, one at a time, the item option with the best objective gain per unit spend
        (ranked on the first draws, ``quick``); the plan it ends with on all the draws."""
        current = self.evaluate(start.plan, quick=True)
        assert current is not None
        while True:
            candidates = [
                self.move(current.plan, i, k)
                for i, item in enumerate(self.items)
                if current.plan[i] is None
                for k in range(len(item.options))
            ]
            best, best_ratio = None, -math.inf
            for record in self.evaluate_many(candidates, quick=True):
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
                return self.full(current)
            current = best

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def check_evaluation(scenario: Scenario, evaluator: Evaluator, npv, spend) -> None:
    """A plan is never ranked on a draw whose NPV or spend is not a number."""
    check_finite(
        scenario,
        {"npv": npv, "spend": spend},
        lambda d: {path: column[d : d + 1] for path, column in evaluator.values.items()},
    )


def better(a: Evaluation, b: Evaluation) -> bool:
    """Higher objective wins; on a tie, lower spend."""
    return a.objective > b.objective or (a.objective == b.objective and a.spend < b.spend)


def _cheapest_losses(current: Evaluation, records: list[Evaluation | None]) -> list[Evaluation]:
    """Plans cheaper than ``current``, by the objective lost per unit of spend saved."""
    cheaper = [r for r in records if r is not None and r.spend < current.spend]
    return sorted(
        cheaper, key=lambda r: (current.objective - r.objective) / (current.spend - r.spend)
    )
