"""The optimiser's answer: the chosen plan, its figures, the frontier, the plan as a scenario."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cxsim.analysis.planning.search import OBJECTIVE_LABEL, Evaluation, Search
from cxsim.analysis.planning.shifts import drop_unchosen
from cxsim.analysis.planning.space import describe_plan
from cxsim.analysis.planning.why import recheck, why_lines, why_report_tables, why_tables
from cxsim.outputs.fitted import FitResult, Report, Table
from cxsim.outputs.summary import format_value
from cxsim.scenario import Scenario, validate

# ---------------------------------------------------------------- the result


@dataclass(repr=False)
class OptimizationResult(FitResult):
    """The chosen plan, its NPV and spend, and every plan evaluated on the way.

    Attributes ending in ``_`` are the search's results (the lifetimes / scikit-learn
    convention); ``params_`` and ``se_`` give the chosen plan's expected NPV, p10 NPV and
    spend with their Monte Carlo standard errors, as every fitted result does.

    Why this plan (:mod:`cxsim.analysis.planning.why`; differences draw by draw on common
    random numbers, ``_se`` their Monte Carlo standard errors):

    - ``marginal_``: per funded item, what leaving it out of the chosen plan would cost:
      ``spend_saved``, ``npv_lost``, ``p10_lost`` and ``drops_too`` (the funded items that
      require it, left out with it).
    - ``left_out_``: per unfunded item, its best ``option`` within the budget added to the
      chosen plan: ``spend_added``, ``npv_gain``, ``p10_gain`` and ``adds_too`` (the
      prerequisites it needs); when no option fits, ``over_budget_by`` for its cheapest.
    - ``next_step_``: the next plan on the frontier above the budget and what it buys.
    - ``recheck_``: the chosen plan, the runner-up and the scenario's own plan on fresh
      draws (seed + 1, as many draws), with ``chosen_ahead_by`` and a ``verdict`` in its
      ``attrs``.
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
    mc_errors: dict[str, float] = field(default_factory=dict)  # standard errors of params_
    marginal_: pd.DataFrame = field(default_factory=pd.DataFrame)
    left_out_: pd.DataFrame = field(default_factory=pd.DataFrame)
    recheck_: pd.DataFrame = field(default_factory=pd.DataFrame)

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

    @property
    def next_step_(self) -> pd.DataFrame:
        """What the next budget step buys: the cheapest frontier plan above the budget.

        One row (none when no evaluated plan above the budget beats the chosen one):
        ``plan``, ``spend``, ``extra_spend``, ``objective``, ``gain`` (over the chosen plan),
        ``npv_mean``, ``npv_p10``. Plans above the budget are those met while trimming the
        scenario's own plan to size, not searched for, so a larger budget may buy more.
        """
        front = self.frontier()
        above = front[(front["spend"] > self.budget) & (front["objective"] > self.objective_)]
        step = above.head(1)[["plan", "spend", "objective", "npv_mean", "npv_p10"]].copy()
        step.insert(2, "extra_spend", step["spend"] - self.spend_)
        step.insert(4, "gain", step["objective"] - self.objective_)
        return step

    def to_yaml(self, path: str | Path | None = None) -> str:
        """Write the chosen plan as a scenario file (see ``scenario_``); return its text."""
        return self.scenario_.to_yaml(path)

    # -- text
    @property
    def params_(self) -> pd.Series:
        """The chosen plan's expected NPV, p10 NPV and expected spend."""
        return pd.Series(
            {"npv_mean": self.npv_mean_, "npv_p10": self.npv_p10_, "spend": self.spend_},
            name="estimate",
        )

    @property
    def se_(self) -> pd.Series:
        """Monte Carlo standard errors of :attr:`params_` (over the plan's draws)."""
        return pd.Series(self.mc_errors, name="se").reindex(self.params_.index)

    def summary(self) -> Report:
        """The plan, its figures with their Monte Carlo error, and what was left out."""
        objective = OBJECTIVE_LABEL[self.risk]
        money = lambda x: format_value(x, "money")  # noqa: E731
        se = self.se_
        plus = lambda key: f" ± {money(se[key])}" if np.isfinite(se[key]) else ""  # noqa: E731
        lines = [
            f"maximises the {objective} ({self.draws} draws, seed {self.seed}, "
            "common random numbers)",
            f"within a budget of {money(self.budget)}: expected programme spend over "
            f"{self.scenario.horizon_months} months, undiscounted",
            "",
            f"expected NPV       {money(self.npv_mean_):>16}{plus('npv_mean')}",
            f"p10 NPV            {money(self.npv_p10_):>16}{plus('npv_p10')}",
            f"spend              {money(self.spend_):>16}   "
            f"{self.spend_ / self.budget:.0%} of the budget",
            f"plans evaluated    {self.evaluations_:>16}",
        ]
        if self.own_plan is not None:
            own = self.own_plan
            over = " (over the budget)" if own["spend"] > self.budget else ""
            lines.append(
                f"the scenario's own plan: spend {money(own['spend'])}{over}, expected NPV "
                f"{money(own['npv_mean'])}, p10 NPV {money(own['npv_p10'])}"
            )
        lines += why_lines(self)
        tables, notes = [], []
        if self.funds_nothing:
            lines += [
                "",
                "Fund nothing: no plan evaluated within the budget beats the NPV of 0 of "
                "funding nothing.",
            ]
        else:
            tables.append(
                Table("Funded items, in order of start", self._funded_table(), index=False)
            )
            left_out = list(self.plan_.loc[~self.plan_["funded"], "item"])
            if left_out:
                notes.append("not funded: " + ", ".join(left_out))
        tables += why_report_tables(self)
        notes += [f"note: {note}" for note in self.notes]
        return Report(f"Funding plan for {self.scenario.name}", lines, tables, notes)

    def _funded_table(self) -> pd.DataFrame:
        funded = self.plan_[self.plan_["funded"]]
        return pd.DataFrame(
            {
                "item": funded["item"],
                "kind": funded["kind"].str.replace("_", " "),
                "target": [f"{v:.2f}" for v in funded["target"]],
                "of plan": [f"{v:.0%}" for v in funded["target_fraction"]],
                "start": [f"{v:.1f}" for v in funded["start_month"]],
                "delay": [f"{v:.0f}" for v in funded["start_shift"]],
                "spend": [format_value(v, "money") for v in funded["spend"]],
            }
        ).reset_index(drop=True)

    def plot(self, ax=None):
        """The frontier of the objective against spend (see :meth:`plot_frontier`)."""
        return self.plot_frontier(ax=ax)

    # -- chart
    def plot_frontier(self, ax=None):
        """Objective against spend for every evaluated plan, the frontier, budget and choice.

        Returns the matplotlib Axes.
        """
        from cxsim.outputs.plotting import axes_or_new, legend, money_axis

        ax = axes_or_new(ax, (7, 4.5))
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
        money_axis(ax.xaxis)
        money_axis(ax.yaxis)
        ax.set(
            xlabel="expected programme spend over the horizon (undiscounted)",
            ylabel=OBJECTIVE_LABEL[self.risk],
            title=f"Funding plans for {self.scenario.name}",
        )
        legend(ax)
        return ax


def build_result(search: Search, scenario: Scenario, own: Evaluation | None) -> OptimizationResult:
    items = search.items
    best = search.best()
    # First, so the history holds any plan they evaluate (normally all are in the cache).
    marginal, left_out = why_tables(search, best)
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
    marginal = marginal.reindex(plan.loc[plan["funded"], "item"].to_list())
    left_out = left_out.reindex(plan.loc[~plan["funded"], "item"].to_list())
    history = pd.DataFrame(
        {
            "plan": [describe_plan(items, r.plan) for r in search.order],
            "funded": [sum(k is not None for k in r.plan) for r in search.order],
            "spend": [r.spend for r in search.order],
            "objective": [r.objective for r in search.order],
            "npv_mean": [r.npv_mean for r in search.order],
            "npv_p10": [r.npv_p10 for r in search.order],
            "feasible": [r.feasible for r in search.order],
        }
    )
    history.index.name = "evaluation"
    written, notes = written_scenario(search, scenario, best)
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
        mc_errors=dict(zip(("npv_mean", "npv_p10", "spend"), best.errors, strict=True)),
        marginal_=marginal,
        left_out_=left_out,
        recheck_=recheck(search, best, own),
    )


def written_scenario(
    search: Search, scenario: Scenario, best: Evaluation
) -> tuple[Scenario, list[str]]:
    """The chosen plan as a scenario a user can read, edit and simulate without groups_on.

    Unfunded work groups are removed, with the journeys and synergies that name them (a
    journey or synergy closes only as far as its least advanced group, which would stay at
    0). No funded group requires a removed one (see :meth:`Search.canonical`). Unfunded
    capabilities keep today's level, without plan or cost. Correlations that name a removed
    input are dropped.
    """
    from cxsim.uncertainty.sampling import draw_inputs

    items = search.items
    evaluated = search.scenario_of(best.plan)
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
    drop_unchosen(data, funded, renamed)
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
        "plan": describe_plan(items, best.plan),
    }
    uncertain = {i.path for i in validate(data, source=scenario.source).uncertain_inputs()}
    moved = []
    for corr in correlations:
        between = [renamed_path(path, renamed) for path in corr["between"]]
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


def renamed_path(path: str, renamed: dict[str, str]) -> str:
    for old, new in renamed.items():
        if path.startswith(old):
            return new + path[len(old) :]
    return path
