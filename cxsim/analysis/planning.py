"""Which work groups do we fund, how far, and in what order? (MODEL.md §9)

:func:`optimize` searches funding plans under a budget for the best expected NPV, or the
best NPV at a risk level (its p10), and shows the frontier of NPV against spend. See
``docs/optimizer.md`` for the method, how close to optimal it gets and its limits.

The pipeline is visible:

1. **Decision space.** Every work group and every capability with a ``plan`` is an
   *item*. An item is either not funded (left out with ``groups_on``: no progress beyond
   today's maturity, no cost) or funded at a fraction ``f`` of its planned target with its
   start month moved ``s`` months later. Funding at ``f`` scales the target (for a
   capability, ``level + f·(target − level)``) *and* the one-time and monthly costs by
   ``f``: cost is assumed proportional to ambition. Uncertain inputs stay uncertain: a
   distribution is rescaled through its parameters (:func:`_affine`), so every draw of the
   rescaled input is exactly ``f`` times the same draw of the original.
2. **Budget.** A plan's spend is its expected total programme cost over the horizon,
   undiscounted: ``result.programme_cost.sum(axis=1).mean()``. Plans over the budget are
   never chosen.
3. **Objective.** ``risk="mean"``: expected NPV; ``risk="p10"``: the 10th percentile of NPV
   across draws. Every plan runs with the same seed and draws (common random numbers), so
   two plans differ only by what differs between them, not by sampling noise.
4. **Search.** Coordinate ascent over items from three starts (nothing funded, the
   scenario's own plan when affordable, a greedy best-gain-per-spend plan), every
   evaluation cached by plan and recorded in ``history_``.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxsim.errors import CxsimError
from cxsim.montecarlo import simulate
from cxsim.outputs.summary import format_value
from cxsim.scenario import Scenario, load_scenario, topological_order, validate
from cxsim.scenario.schema import CAPABILITIES, as_written
from cxsim.uncertainty.distributions import Distribution

__all__ = ["OptimizationResult", "optimize"]

RISKS = ("mean", "p10")
_OBJECTIVE_LABEL = {"mean": "expected NPV", "p10": "p10 NPV"}


# ---------------------------------------------------------------- rescaled inputs


def _affine(value: float | Distribution, scale: float, shift: float = 0.0) -> Any:
    """``shift + scale · value`` for an uncertain scalar, as a number or distribution mapping.

    A distribution keeps its kind: its location parameters are moved and its spread is
    scaled, so each draw of the result is ``shift + scale ×`` the same draw of ``value``
    (draws come from the same uniforms: a stream depends on the input's path only).

    >>> _affine(Distribution("pert", {"min": 1, "mode": 2, "max": 4}), 0.5)
    {'dist': 'pert', 'max': 2.0, 'min': 0.5, 'mode': 1.0}
    """
    if not isinstance(value, Distribution):
        return as_written(shift + scale * float(value))
    p = value.p
    if value.dist in ("pert", "triangular", "uniform"):
        new = {k: shift + scale * v for k, v in p.items()}
    elif value.dist == "normal":
        new = {"mean": shift + scale * p["mean"], "sd": scale * p["sd"]}
        new.update({k: shift + scale * p[k] for k in ("min", "max") if k in p})
    elif value.dist == "lognormal":
        if shift:
            raise CxsimError("a lognormal input cannot be shifted; give it a pert or normal")
        new = {"mean": scale * p["mean"], "sd": scale * p["sd"]}
    else:  # beta on [min, max]
        new = {
            "alpha": p["alpha"],
            "beta": p["beta"],
            "min": shift + scale * p.get("min", 0.0),
            "max": shift + scale * p.get("max", 1.0),
        }
    return {"dist": value.dist, **new}


def _scaled(value: float | Distribution, f: float) -> Any:
    """``f · value`` (a number or a distribution mapping of the same kind)."""
    return _affine(value, f)


def _shifted(value: float | Distribution, months: float, horizon: int) -> tuple[Any, float]:
    """A start month moved ``months`` later, clipped so it stays within the horizon.

    Returns the new value and the shift applied: for an uncertain start the whole range
    must end by month ``horizon − 1``, so the shift is clipped by its largest value.
    """
    high = value.support()[1] if isinstance(value, Distribution) else float(value)
    applied = max(0.0, min(float(months), horizon - 1 - high))
    return _affine(value, 1.0, applied), applied


def _expected(value: float | Distribution) -> float:
    return value.mean() if isinstance(value, Distribution) else float(value)


def _is_zero(value: float | Distribution) -> bool:
    return not isinstance(value, Distribution) and float(value) == 0.0


# ---------------------------------------------------------------- decision space


@dataclass(frozen=True)
class _Option:
    """One way to fund an item: target fraction, start shift, and the inputs it rewrites."""

    fraction: float
    shift: float  # months actually moved (after clipping to the horizon)
    overrides: tuple[tuple[str, Any], ...]
    target: float  # expected target after scaling
    start: float  # expected start month after the shift


@dataclass
class _Item:
    name: str
    kind: str  # "work_group" or "capability"
    requires: tuple[int, ...]  # indices of items it requires
    options: list[_Option]
    spend: list[float] = field(default_factory=list)  # expected spend per option

    @property
    def enabler(self) -> int:
        """The option a dependent's move funds this item at: cheapest without delay."""
        earliest = min(o.shift for o in self.options)
        return min(
            (k for k, o in enumerate(self.options) if o.shift == earliest),
            key=lambda k: self.spend[k],
        )


def _options(
    prefix: str, plan, cost, fractions, shifts, horizon: int, level: float = 0.0
) -> list[_Option]:
    """The distinct funded options of one item (duplicates after clipping dropped)."""
    seen: dict[str, _Option] = {}
    for f in fractions:
        for s in shifts:
            overrides: dict[str, Any] = {}
            if f != 1.0:
                # level + f·(target − level) = f·target + (1 − f)·level
                overrides[f"{prefix}.plan.target"] = _affine(plan.target, f, (1 - f) * level)
                for key in ("one_time", "monthly"):
                    value = getattr(cost, key)
                    if not _is_zero(value):
                        overrides[f"{prefix}.cost.{key}"] = _scaled(value, f)
            start, applied = _shifted(plan.start_month, s, horizon)
            if applied:
                overrides[f"{prefix}.plan.start_month"] = start
            key = json.dumps(overrides, sort_keys=True)
            if key not in seen:
                seen[key] = _Option(
                    fraction=float(f),
                    shift=applied,
                    overrides=tuple(overrides.items()),
                    target=level + f * (_expected(plan.target) - level),
                    start=_expected(plan.start_month) + applied,
                )
    # Largest fraction, earliest start first: option 0 is the item's own plan on the default grid.
    return sorted(seen.values(), key=lambda o: (-o.fraction, o.shift))


def _items(scenario: Scenario, fractions, shifts) -> list[_Item]:
    """Work groups (prerequisites first), then the capabilities that have a plan."""
    from cxsim.model.operating_model import assessment_levels

    horizon = scenario.horizon_months
    items: list[_Item] = []
    index: dict[str, int] = {}
    for name in topological_order(scenario.work_groups):
        group = scenario.work_groups[name]
        index[name] = len(items)
        items.append(
            _Item(
                name,
                "work_group",
                tuple(index[r] for r in group.requires),
                _options(f"work_groups.{name}", group.plan, group.cost, fractions, shifts, horizon),
            )
        )
    scores = scenario.model.maturity_assessment
    assessed = assessment_levels(scores) if scores else {}
    for name in CAPABILITIES:
        capability = scenario.model.capabilities.get(name)
        if capability is None or capability.plan is None:
            continue
        level = capability.level if capability.level is not None else assessed.get(name, 0.0)
        # level + f·(target − level) is a sum of two uncertain inputs when today's level is
        # uncertain, which no single distribution writes exactly: such a capability is
        # funded at its full target or not at all.
        own = (1.0,) if isinstance(level, Distribution) else fractions
        items.append(
            _Item(
                name,
                "capability",
                (),
                _options(
                    f"capabilities.{name}",
                    capability.plan,
                    capability.cost,
                    own,
                    shifts,
                    horizon,
                    _expected(level),
                ),
            )
        )
    return items


Plan = tuple  # one entry per item: an option index, or None when the item is not funded


# ---------------------------------------------------------------- evaluations


@dataclass(frozen=True)
class _Evaluation:
    plan: Plan
    spend: float
    npv_mean: float
    npv_p10: float
    objective: float
    feasible: bool


class _Search:
    """Evaluates plans on common random numbers, caches them and runs the searches."""

    def __init__(self, scenario, items, budget, risk, draws, seed, max_passes, progress):
        self.scenario = scenario
        self.items = items
        self.budget = budget
        self.risk = risk
        self.draws = draws
        self.seed = seed
        self.max_passes = max_passes
        self.cache: dict[Plan, _Evaluation | None] = {}
        self.order: list[_Evaluation] = []
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
        from cxsim.model.params import build_params
        from cxsim.montecarlo import modelled_capabilities
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
            scenario = self._variant(overrides)
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

    def _variant(self, overrides: dict[str, Any]) -> Scenario:
        if not overrides:
            return self.scenario
        return self.scenario.with_overrides(overrides, source="optimize")

    def overrides(self, plan: Plan) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for item, k in zip(self.items, plan, strict=True):
            if k is not None:
                out.update(item.options[k].overrides)
        return out

    def evaluate(self, plan: Plan, screen: bool = True) -> _Evaluation | None:
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
            self._variant(self.overrides(plan)),
            draws=self.draws,
            seed=self.seed,
            groups_on=on,
            progress=False,
        )
        npv = result.npv
        spend = float(result.programme_cost.sum(axis=1).mean())
        mean, p10 = float(npv.mean()), float(np.quantile(npv, 0.1))
        record = _Evaluation(
            plan, spend, mean, p10, mean if self.risk == "mean" else p10, spend <= self.budget
        )
        self.cache[plan] = record
        self.order.append(record)
        if self.bar is not None:
            self.bar.update(1)
        return record

    # -- moves
    def canonical(self, plan: Plan) -> Plan:
        """Leave out every work group whose prerequisite is not funded.

        By the sequence rule (MODEL.md §2) such a group cannot progress at all, so funding
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
    def ascend(self, start: _Evaluation) -> _Evaluation:
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
                    if record is not None and record.feasible and _better(record, best):
                        best = record
                if best is not current:
                    current, changed = best, True
            if not changed:
                break
        return current

    def trim(self, start: _Evaluation) -> _Evaluation:
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

    def greedy(self, start: _Evaluation) -> _Evaluation:
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


def _better(a: _Evaluation, b: _Evaluation) -> bool:
    """Higher objective wins; on a tie, lower spend."""
    return a.objective > b.objective or (a.objective == b.objective and a.spend < b.spend)


# ---------------------------------------------------------------- public API


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
) -> OptimizationResult:
    """Search funding plans within a budget for the best NPV (MODEL.md §9).

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
    for name, value, low in (("draws", draws, 1), ("seed", seed, 0), ("max_passes", max_passes, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise CxsimError(f"{name} must be a whole number ≥ {low} (got {value!r})")
    fractions = _check_grid("targets", targets, lambda f: 0 < f <= 1, "fractions in (0, 1]")
    shifts = _check_grid(
        "start_shifts", start_shifts, lambda s: s >= 0 and float(s).is_integer(), "whole months ≥ 0"
    )
    items = _items(scenario, sorted(fractions, reverse=True), sorted(shifts))
    if not scenario.work_groups:
        raise CxsimError(f"scenario {scenario.name!r} has no work groups: nothing to fund")

    search = _Search(scenario, items, budget, risk, int(draws), int(seed), max_passes, progress)
    try:
        empty = search.evaluate(tuple(None for _ in items))
        assert empty is not None and empty.feasible  # funding nothing costs nothing
        search.ascend(empty)
        own = search.evaluate(search.canonical(tuple(0 for _ in items)), screen=False)
        search.ascend(search.trim(own))
        search.ascend(search.greedy(empty))
    finally:
        search.close()
    return _result(search, scenario, own)


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


# ---------------------------------------------------------------- the result


@dataclass(repr=False)
class OptimizationResult:
    """The chosen plan, its NPV and spend, and every plan evaluated on the way.

    Attributes ending in ``_`` are the search's results (the lifetimes / scikit-learn
    convention).
    """

    budget: float
    risk: str
    draws: int
    seed: int
    plan_: pd.DataFrame
    objective_: float
    npv_mean_: float
    npv_p10_: float
    spend_: float
    evaluations_: int
    history_: pd.DataFrame
    scenario_: Scenario
    scenario: Scenario  # the scenario that was optimized
    own_plan: dict[str, float] | None = None  # the scenario's own plan, when evaluated
    notes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return (
            f"OptimizationResult({self.scenario.name!r}, risk={self.risk!r}, "
            f"objective={self.objective_:,.0f}, spend={self.spend_:,.0f} of {self.budget:,.0f}, "
            f"{int(self.plan_['funded'].sum())} of {len(self.plan_)} items funded, "
            f"{self.evaluations_} plans evaluated)"
        )

    @property
    def funds_nothing(self) -> bool:
        return not bool(self.plan_["funded"].any())

    def frontier(self) -> pd.DataFrame:
        """Evaluated plans not beaten by a cheaper one: the best objective at each spend.

        Rows of ``history_`` sorted by spend; each has a higher objective than every plan
        that spends as much or less (plans over the budget included).
        """
        ranked = self.history_.sort_values(["spend", "objective"], ascending=[True, False])
        best, keep = -math.inf, []
        for index, row in ranked.iterrows():
            if row["objective"] > best:
                keep.append(index)
                best = row["objective"]
        return self.history_.loc[keep]

    def to_yaml(self, path: str | Path | None = None) -> str:
        """Write the chosen plan as a scenario file (see ``scenario_``); return its text."""
        return self.scenario_.to_yaml(path)

    # -- text
    def summary(self) -> str:
        objective = _OBJECTIVE_LABEL[self.risk]
        money = lambda x: format_value(x, "money")  # noqa: E731
        lines = [
            f"Funding plan for {self.scenario.name}",
            f"  maximises the {objective} ({self.draws} draws, seed {self.seed}, "
            "common random numbers)",
            f"  within a budget of {money(self.budget)}: expected programme spend over "
            f"{self.scenario.horizon_months} months, undiscounted",
            "",
        ]
        if self.funds_nothing:
            lines.append(
                "Fund nothing: no plan evaluated within the budget beats the NPV of 0 of "
                "funding nothing."
            )
        else:
            lines.extend(self._table())
        lines += [
            "",
            f"  expected NPV       {money(self.npv_mean_):>16}",
            f"  p10 NPV            {money(self.npv_p10_):>16}",
            f"  spend              {money(self.spend_):>16}   "
            f"{self.spend_ / self.budget:.0%} of the budget",
            f"  plans evaluated    {self.evaluations_:>16}",
        ]
        if self.own_plan is not None:
            own = self.own_plan
            over = " (over the budget)" if own["spend"] > self.budget else ""
            lines.append(
                f"  the scenario's own plan: spend {money(own['spend'])}{over}, expected NPV "
                f"{money(own['npv_mean'])}, p10 NPV {money(own['npv_p10'])}"
            )
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)

    __str__ = summary

    def _table(self) -> list[str]:
        funded = self.plan_[self.plan_["funded"]]
        width = max(8, *(len(n) for n in funded["item"])) + 2
        lines = [
            "  " + "item".ljust(width) + f"{'kind':<12}{'target':>8}{'of plan':>9}"
            f"{'start':>7}{'delay':>7}{'spend':>16}"
        ]
        for _, row in funded.iterrows():
            lines.append(
                "  "
                + row["item"].ljust(width)
                + f"{row['kind'].replace('_', ' '):<12}{row['target']:>8.2f}"
                f"{row['target_fraction']:>9.0%}{row['start_month']:>7.1f}"
                f"{row['start_shift']:>7.0f}{format_value(row['spend'], 'money'):>16}"
            )
        left_out = list(self.plan_.loc[~self.plan_["funded"], "item"])
        if left_out:
            lines.append("  not funded: " + ", ".join(left_out))
        return lines

    def _repr_html_(self) -> str:
        head = (
            f"<p><b>Funding plan for {self.scenario.name}</b>: {_OBJECTIVE_LABEL[self.risk]} "
            f"{self.objective_:,.0f}; expected NPV {self.npv_mean_:,.0f}, p10 NPV "
            f"{self.npv_p10_:,.0f}; spend {self.spend_:,.0f} of a budget of {self.budget:,.0f}; "
            f"{self.evaluations_} plans evaluated.</p>"
        )
        return head + self.plan_.to_html(index=False, float_format=lambda x: f"{x:,.4g}")

    # -- chart
    def plot_frontier(self, ax=None):
        """Objective against spend for every evaluated plan, the frontier, budget and choice.

        Returns the matplotlib Axes.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4.5))
        history = self.history_
        ax.scatter(
            history["spend"], history["objective"], s=12, color="0.65", label="evaluated plans"
        )
        front = self.frontier()
        ax.step(
            front["spend"],
            front["objective"],
            where="post",
            color="C0",
            marker="o",
            markersize=4,
            label="frontier",
        )
        ax.axvline(self.budget, color="C3", linestyle="--", label="budget")
        ax.scatter(
            [self.spend_],
            [self.objective_],
            marker="*",
            s=220,
            color="C1",
            zorder=5,
            label="chosen plan",
        )
        ax.axhline(0.0, color="0.3", linewidth=0.6)
        from cxsim.outputs.plotting import money_axis

        money_axis(ax.xaxis)
        money_axis(ax.yaxis)
        ax.set(
            xlabel="expected programme spend over the horizon (undiscounted)",
            ylabel=_OBJECTIVE_LABEL[self.risk],
            title=f"Funding plans for {self.scenario.name}",
        )
        ax.legend(loc="best", fontsize="small")
        return ax


def _describe(items: list[_Item], plan: Plan) -> str:
    parts = []
    for item, k in zip(items, plan, strict=True):
        if k is None:
            continue
        option = item.options[k]
        text = f"{item.name} {option.fraction:.0%}"
        if option.shift:
            text += f" +{option.shift:g}m"
        parts.append(text)
    return ", ".join(parts) or "(nothing funded)"


def _result(search: _Search, scenario: Scenario, own: _Evaluation | None) -> OptimizationResult:
    items = search.items
    feasible = [r for r in search.order if r.feasible]
    best = feasible[0]
    for record in feasible[1:]:
        if _better(record, best):
            best = record
    rows = []
    for item, k in zip(items, best.plan, strict=True):
        option = item.options[k] if k is not None else None
        rows.append(
            {
                "item": item.name,
                "kind": item.kind,
                "funded": option is not None,
                "target_fraction": option.fraction if option else math.nan,
                "start_shift": option.shift if option else math.nan,
                "start_month": option.start if option else math.nan,
                "target": option.target if option else math.nan,
                "spend": item.spend[k] if option else 0.0,
            }
        )
    # In what order: funded items by (expected) start month, then the ones left out.
    plan = pd.DataFrame(rows).sort_values(
        ["funded", "start_month"], ascending=[False, True], kind="stable", na_position="last"
    )
    history = pd.DataFrame(
        {
            "plan": [_describe(items, r.plan) for r in search.order],
            "funded": [sum(k is not None for k in r.plan) for r in search.order],
            "spend": [r.spend for r in search.order],
            "objective": [r.objective for r in search.order],
            "npv_mean": [r.npv_mean for r in search.order],
            "npv_p10": [r.npv_p10 for r in search.order],
            "feasible": [r.feasible for r in search.order],
        }
    )
    history.index.name = "evaluation"
    written, notes = _written_scenario(search, scenario, best)
    return OptimizationResult(
        budget=search.budget,
        risk=search.risk,
        draws=search.draws,
        seed=search.seed,
        plan_=plan.reset_index(drop=True),
        objective_=best.objective,
        npv_mean_=best.npv_mean,
        npv_p10_=best.npv_p10,
        spend_=best.spend,
        evaluations_=len(search.order),
        history_=history,
        scenario_=written,
        scenario=scenario,
        own_plan=None
        if own is None
        else {"spend": own.spend, "npv_mean": own.npv_mean, "npv_p10": own.npv_p10},
        notes=notes,
    )


def _written_scenario(
    search: _Search, scenario: Scenario, best: _Evaluation
) -> tuple[Scenario, list[str]]:
    """The chosen plan as a scenario a user can read, edit and simulate without groups_on.

    Unfunded work groups are removed, with the journeys and synergies that name them (a
    journey or synergy closes only as far as its least advanced group, which would stay at
    0). No funded group requires a removed one (see :meth:`_Search.canonical`). Unfunded
    capabilities keep today's level, without plan or cost. Correlations that name a removed
    input are dropped.
    """
    from cxsim.uncertainty.sampling import draw_inputs

    items = search.items
    evaluated = search._variant(search.overrides(best.plan))
    data = evaluated.to_dict()
    funded = {item.name for item, k in zip(items, best.plan, strict=True) if k is not None}
    groups = data.get("work_groups") or {}
    for name in [g for g in groups if g not in funded]:
        del groups[name]
    journeys = data.get("journeys") or {}
    for name in [j for j, v in journeys.items() if not set(v["groups"]) <= funded]:
        del journeys[name]
    renamed: dict[str, str] = {}
    kept = []
    for index, synergy in enumerate(data.get("synergies") or []):
        if set(synergy["groups"]) <= funded:
            renamed[f"synergies.{index}."] = f"synergies.{len(kept)}."
            kept.append(synergy)
    if "synergies" in data:
        data["synergies"] = kept
    for name, capability in (data.get("capabilities") or {}).items():
        if name not in funded:
            capability.pop("plan", None)
            capability.pop("cost", None)
    correlations = data.pop("correlations", [])
    data["name"] = f"{scenario.name} - funding plan"
    data.setdefault("provenance", {})["optimize"] = {
        "method": "cxsim optimize: coordinate ascent over work groups and planned "
        "capabilities on common random numbers (docs/optimizer.md)",
        "optimized_from": scenario.source,
        "budget": search.budget,
        "risk": search.risk,
        "draws": search.draws,
        "seed": search.seed,
        "objective": best.objective,
        "npv_mean": best.npv_mean,
        "npv_p10": best.npv_p10,
        "spend": best.spend,
        "plan": _describe(items, best.plan),
    }
    uncertain = {i.path for i in validate(data, source=scenario.source).uncertain_inputs()}
    moved = []
    for corr in correlations:
        between = [_rename(path, renamed) for path in corr["between"]]
        if all(path in uncertain for path in between):
            moved.append({**corr, "between": between})
    if moved:
        data["correlations"] = moved
    written = validate(data, source=scenario.source)

    # An uncertain input keeps its draws when its path and correlations are unchanged;
    # say so if one does not (a dropped correlation, a synergy moved up the list).
    n = min(search.draws, 64)
    before = draw_inputs(evaluated, search.seed, 0, n)
    after = draw_inputs(written, search.seed, 0, n)
    was = {i.path: i.value for i in evaluated.uncertain_inputs()}
    changed = [
        i.path
        for i in written.uncertain_inputs()
        if i.path in was
        and was[i.path] == i.value
        and not np.allclose(after[i.path], before[i.path], rtol=1e-12, atol=0)
    ]
    notes = []
    if changed:
        notes.append(
            "the written plan draws "
            + ", ".join(changed)
            + " afresh (a correlation or synergy it had was removed with an unfunded item): "
            "simulating it gives the same distributions but not the same draws"
        )
    return written, notes


def _rename(path: str, renamed: dict[str, str]) -> str:
    for old, new in renamed.items():
        if path.startswith(old):
            return new + path[len(old) :]
    return path
