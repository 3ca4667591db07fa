"""Why the optimizer chose its plan: what each item adds, what the others would, a re-check.

- **Marginal value** of each funded item: the chosen plan with the item left out, and with
  it the funded items that require it (they could not progress and would only cost money,
  see :meth:`Search.canonical`). Expected NPV and p10 NPV lost, on the search's draws.
- **Left out**: each unfunded item added to the chosen plan at its best option within the
  budget (with the prerequisites it needs, at their cheapest option without delay, see
  :meth:`Search.move`), or by how much its cheapest option would exceed the budget.
- **Re-check**: the chosen plan, the runner-up (the best other plan the search evaluated
  within the budget) and the scenario's own plan on *fresh* draws: seed ``seed + 1``, the
  same number of draws, all three on the same draws. The search picked the plan on its own
  sample; the re-check tells whether the choice is an accident of that sample.

Every difference is taken draw by draw on common random numbers, so its Monte Carlo error is
that of the per-draw differences: ``sd/√n`` for the expected NPV, a paired bootstrap over the
draws for the p10. The dropped and added plans are single moves from the chosen plan, which
the coordinate ascent has already evaluated (the chosen plan is a local optimum): they come
from the search's cache. Only the re-check runs new simulations.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cxsim.analysis.evaluate import Evaluator
from cxsim.analysis.planning.search import (
    OBJECTIVE_LABEL,
    Evaluation,
    Search,
    better,
    check_evaluation,
)
from cxsim.analysis.planning.space import Item, Option, Plan, describe_plan
from cxsim.outputs.fitted import Table
from cxsim.outputs.mc_error import mean_se, quantile_se
from cxsim.outputs.summary import format_error, format_value
from cxsim.uncertainty.streams import SEEDS

if TYPE_CHECKING:
    from cxsim.analysis.planning.result import OptimizationResult

# Fresh draws for the re-check: the next seed, whose draws are independent of the search's.
RECHECK_SEED_OFFSET = 1
# Bootstrap resamples for the error of a difference of two p10s on paired draws.
BOOTSTRAP = 200
# Resampled draws held at once by the bootstrap (bounds its memory for large runs).
_BOOTSTRAP_CELLS = 2_000_000
# A gap within this many Monte Carlo errors of zero cannot tell two plans apart.
TOO_CLOSE = 2.0

MARGINAL_COLUMNS = [
    "kind",
    "spend_saved",
    "npv_lost",
    "npv_lost_se",
    "p10_lost",
    "p10_lost_se",
    "drops_too",
]
LEFT_OUT_COLUMNS = [
    "kind",
    "option",
    "spend_added",
    "npv_gain",
    "npv_gain_se",
    "p10_gain",
    "p10_gain_se",
    "over_budget_by",
    "adds_too",
]


def why_tables(search: Search, best: Evaluation) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each funded item's marginal value and each unfunded item's best addition.

    The plans both tables need are evaluated in one batch on the search's draws (almost all
    are already in its cache).
    """
    items = search.items
    drops = {i: search.move(best.plan, i, None) for i, k in enumerate(best.plan) if k is not None}
    additions: dict[int, list[Plan]] = {}
    for i, k in enumerate(best.plan):
        if k is None:
            additions[i] = [search.move(best.plan, i, o) for o in range(len(items[i].options))]
    fitting = [p for plans in additions.values() for p in plans if _fits(search, p)]
    records = search.evaluate_many([*drops.values(), *fitting], screen=False)
    known = {r.plan: r for r in records if r is not None}

    marginal = {}
    for i, plan in drops.items():
        dropped = known[plan]
        npv_se, p10_se = gap_errors(best, dropped, search.seed)
        marginal[items[i].name] = {
            "kind": items[i].kind,
            "spend_saved": best.spend - dropped.spend,
            "npv_lost": best.npv_mean - dropped.npv_mean,
            "npv_lost_se": npv_se,
            "p10_lost": best.npv_p10 - dropped.npv_p10,
            "p10_lost_se": p10_se,
            "drops_too": _names(items, _changed(best.plan, plan, i)),
        }

    left_out = {}
    for i, plans in additions.items():
        item = items[i]
        options = [known[p] for p in plans if p in known]
        row: dict = {"kind": item.kind, "over_budget_by": math.nan}
        if options:
            added = options[0]
            for record in options[1:]:
                if better(record, added):
                    added = record
            npv_se, p10_se = gap_errors(added, best, search.seed)
            row.update(
                option=describe_option(item.options[added.plan[i]]),
                spend_added=added.spend - best.spend,
                npv_gain=added.npv_mean - best.npv_mean,
                npv_gain_se=npv_se,
                p10_gain=added.npv_p10 - best.npv_p10,
                p10_gain_se=p10_se,
                adds_too=_names(items, _changed(best.plan, added.plan, i)),
            )
        else:  # nothing fits: the cheapest option says by how much
            cheapest = min(plans, key=search.predicted_spend)
            spend = search.predicted_spend(cheapest)
            row.update(
                option=describe_option(item.options[cheapest[i]]),
                spend_added=spend - best.spend,
                over_budget_by=spend - search.budget,
                adds_too=_names(items, _changed(best.plan, cheapest, i)),
            )
        left_out[item.name] = row
    return (
        _frame(marginal, MARGINAL_COLUMNS),
        _frame(left_out, LEFT_OUT_COLUMNS),
    )


def recheck(search: Search, best: Evaluation, own: Evaluation | None) -> pd.DataFrame:
    """The chosen plan, the runner-up and the scenario's own plan on fresh draws.

    Rows ``chosen``, ``runner-up`` and ``own plan`` (a plan already listed is not repeated;
    ``runner-up (own plan)`` when they coincide), with ``plan``, ``changes`` (what differs
    from the chosen plan), ``spend``,
    ``within_budget``, ``search_objective`` (on the search's draws), ``objective``,
    ``npv_mean``, ``npv_p10`` and their standard errors on the fresh draws, and
    ``chosen_ahead_by`` (the chosen plan's objective minus the row's, draw by draw on the
    fresh draws) with its error. ``attrs``: ``seed``, ``draws`` and ``verdict``, one
    sentence on the plans within the budget (an own plan over it may well be ahead).
    """
    others = [r for r in search.order if r.feasible and r.plan != best.plan]
    runner_up = None
    for record in others:
        if runner_up is None or better(record, runner_up):
            runner_up = record
    rows: dict[str, Evaluation] = {"chosen": best}
    if runner_up is not None:
        own_too = own is not None and runner_up.plan == own.plan
        rows["runner-up (own plan)" if own_too else "runner-up"] = runner_up
    if own is not None and own.plan not in [r.plan for r in rows.values()]:
        rows["own plan" if own.feasible else "own plan (over the budget)"] = own
    seed = (search.seed + RECHECK_SEED_OFFSET) % SEEDS  # the largest seed's next is 0
    evaluator = Evaluator(search.scenario, search.draws, seed)
    variants = [search.variant(r.plan) for r in rows.values()]
    fresh = evaluator.evaluate(variants, search.executor)
    for outcome in fresh:
        check_evaluation(search.scenario, evaluator, outcome.npv, outcome.spend)
    objective = np.mean if search.risk == "mean" else _p10
    chosen = fresh[0].npv
    table = {}
    for (role, record), outcome in zip(rows.items(), fresh, strict=True):
        npv = outcome.npv
        ahead_mean, ahead_p10 = gap_errors_of(chosen, npv, search.seed)
        table[role] = {
            "plan": describe_plan(search.items, record.plan),
            "changes": describe_plan(search.items, record.plan, base=best.plan),
            "spend": float(outcome.spend.mean()),
            "within_budget": record.feasible,
            "search_objective": record.objective,
            "objective": float(objective(npv)),
            "objective_se": mean_se(npv) if search.risk == "mean" else quantile_se(npv, 0.1),
            "npv_mean": float(npv.mean()),
            "npv_mean_se": mean_se(npv),
            "npv_p10": _p10(npv),
            "npv_p10_se": quantile_se(npv, 0.1),
            "chosen_ahead_by": float(objective(chosen)) - float(objective(npv)),
            "chosen_ahead_by_se": ahead_mean if search.risk == "mean" else ahead_p10,
        }
    frame = pd.DataFrame.from_dict(table, orient="index")
    frame.index.name = "role"
    frame.attrs.update(seed=seed, draws=search.draws, verdict=verdict(frame))
    return frame


def verdict(frame: pd.DataFrame) -> str:
    """One sentence: does the chosen plan stay ahead of the plans within the budget?"""
    rivals = frame.iloc[1:][frame["within_budget"].iloc[1:]]
    if rivals.empty:
        return "no other plan within the budget was evaluated"
    gaps = rivals["chosen_ahead_by"].to_numpy()
    errors = rivals["chosen_ahead_by_se"].to_numpy()
    worst = int(np.argmin(gaps))
    role, gap, error = rivals.index[worst], gaps[worst], errors[worst]
    by = f"by {_money(abs(gap))} ± {format_error(error, 'money')}"
    if gap >= TOO_CLOSE * error:
        return f"the choice holds: the chosen plan beats the {role} {by}"
    if not gap < -TOO_CLOSE * error:  # also when the error is unknown (NaN)
        ahead = "the chosen plan" if gap >= 0 else f"the {role}"
        return (
            f"too close to call: {ahead} comes out ahead {by}, within "
            f"{TOO_CLOSE:g} Monte Carlo errors; either plan will do, or confirm with more draws"
        )
    return (
        f"the choice does not hold: the {role} comes out ahead {by}, more "
        f"than {TOO_CLOSE:g} Monte Carlo errors; run with more draws"
    )


def gap_errors(a: Evaluation, b: Evaluation, seed: int) -> tuple[float, float]:
    """Monte Carlo errors of ``a − b`` in expected NPV and in p10 NPV, on paired draws."""
    assert a.npv is not None and b.npv is not None  # every recorded evaluation keeps them
    return gap_errors_of(a.npv, b.npv, seed)


def gap_errors_of(a: np.ndarray, b: np.ndarray, seed: int) -> tuple[float, float]:
    """``sd/√n`` of the per-draw differences; a paired bootstrap for the p10s' difference.

    The bootstrap resamples draws (the same for every pair of plans, from ``seed``) and
    takes both plans' p10 on each resample.
    """
    n = a.size
    if n < 2:
        return math.nan, math.nan
    if np.array_equal(a, b):
        return 0.0, 0.0
    rng = np.random.default_rng(seed)
    gaps = []
    step = max(1, _BOOTSTRAP_CELLS // n)
    for first in range(0, BOOTSTRAP, step):
        rows = rng.integers(0, n, (min(step, BOOTSTRAP - first), n))
        gaps.append(np.quantile(a[rows], 0.1, axis=1) - np.quantile(b[rows], 0.1, axis=1))
    return mean_se(a - b), float(np.concatenate(gaps).std(ddof=1))


def describe_option(option: Option) -> str:
    """``"100%"``, ``"50%, 6 months late"``: an item's share of its planned target and delay."""
    text = f"{option.fraction:.0%}"
    return f"{text}, {option.shift:g} months late" if option.shift else text


def _fits(search: Search, plan: Plan) -> bool:
    return search.predicted_spend(plan) <= search.budget * (1 + 1e-9)


def _changed(before: Plan, after: Plan, moved: int) -> list[int]:
    """Items whose funding a move of item ``moved`` switched on or off with it."""
    return [
        j
        for j, (a, b) in enumerate(zip(before, after, strict=True))
        if j != moved and (a is None) != (b is None)
    ]


def _names(items: list[Item], indices: list[int]) -> str:
    return ", ".join(items[j].name for j in indices)


def _p10(npv: np.ndarray) -> float:
    return float(np.quantile(npv, 0.1))


def _frame(rows: dict, columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    frame.index.name = "item"
    return frame


# ---------------------------------------------------------------- as text


def why_lines(result: OptimizationResult) -> list[str]:
    """The summary's lines on the next budget step and the re-check."""
    label = OBJECTIVE_LABEL[result.risk]
    step = result.next_step_
    if len(step):
        row = step.iloc[0]
        bought = f"{label} {_money(row['objective'])} (+{_money(row['gain'])})"
        if result.risk != "mean":
            gain = row["npv_mean"] - result.npv_mean_
            bought += f", expected NPV {_money(row['npv_mean'])} ({gain:+,.0f})"
        lines = [
            f"next budget step: a spend of {_money(row['spend'])} "
            f"(+{_money(row['extra_spend'])}) buys {bought}: the next plan on the frontier "
            "above the budget"
        ]
    else:
        lines = ["next budget step: no plan evaluated above the budget beats the chosen one"]
    frame = result.recheck_
    if len(frame):
        chosen = frame.iloc[0]
        lines.append(
            f"re-checked on {frame.attrs['draws']:,} fresh draws (seed {frame.attrs['seed']}): "
            f"{label} {_with_errors([chosen['objective']], [chosen['objective_se']])[0]}; "
            + frame.attrs["verdict"]
        )
    return lines


def why_report_tables(result: OptimizationResult) -> list[Table]:
    """The summary's tables: each funded item's value, the items left out, the re-check."""
    p10 = result.risk == "p10"
    tables = []
    marginal = result.marginal_
    if len(marginal):
        frame = pd.DataFrame(
            {
                "item": marginal.index,
                "spend saved": [_money(v) for v in marginal["spend_saved"]],
                "NPV lost": _with_errors(marginal["npv_lost"], marginal["npv_lost_se"]),
            }
        )
        if p10:
            frame["p10 NPV lost"] = _with_errors(marginal["p10_lost"], marginal["p10_lost_se"])
        frame["drops too"] = marginal["drops_too"].to_numpy()
        tables.append(
            Table(
                "What each funded item adds: the expected NPV lost if it were left out, with "
                "the items that require it (± Monte Carlo error)",
                frame,
                index=False,
            )
        )
    left_out = result.left_out_
    if len(left_out):
        over = left_out["over_budget_by"].notna().to_numpy()
        gains = _with_errors(left_out["npv_gain"], left_out["npv_gain_se"])
        frame = pd.DataFrame(
            {
                "item": left_out.index,
                "option": left_out["option"].to_numpy(),
                "extra spend": [_money(v) for v in left_out["spend_added"]],
                "NPV change": [
                    f"over budget by {_money(b)}" if o else g
                    for o, g, b in zip(over, gains, left_out["over_budget_by"], strict=True)
                ],
            }
        )
        if p10:
            p10_gains = _with_errors(left_out["p10_gain"], left_out["p10_gain_se"])
            frame["p10 NPV change"] = ["" if o else g for o, g in zip(over, p10_gains, strict=True)]
        frame["funds too"] = left_out["adds_too"].to_numpy()
        tables.append(
            Table(
                "Left out: what each would add to this plan at its best option within the "
                "budget (± Monte Carlo error)",
                frame,
                index=False,
            )
        )
    frame = result.recheck_
    if len(frame):
        label = OBJECTIVE_LABEL[result.risk]
        shown = pd.DataFrame(
            {
                "plan": frame.index,
                "spend": [_money(v) for v in frame["spend"]],
                f"{label}, search draws": [_money(v) for v in frame["search_objective"]],
                "fresh draws": _with_errors(frame["objective"], frame["objective_se"]),
                "chosen ahead by": _with_errors(
                    frame["chosen_ahead_by"], frame["chosen_ahead_by_se"]
                ),
                "against the chosen plan": frame["changes"].to_numpy(),
            }
        )
        shown.loc[0, ["chosen ahead by", "against the chosen plan"]] = ""
        tables.append(
            Table(
                f"Re-checked on {frame.attrs['draws']:,} fresh draws (seed "
                f"{frame.attrs['seed']}), every plan on the same draws",
                shown,
                index=False,
            )
        )
    return tables


def _money(value: float) -> str:
    return format_value(value, "money")


def _with_errors(values, errors) -> list[str]:
    """``"1,990,000 ± 40,000"``; the value alone when its error is unknown."""
    out = []
    for value, error in zip(values, errors, strict=True):
        if not np.isfinite(value):
            out.append("")
        elif np.isfinite(error) and error > 0:
            out.append(f"{_money(value)} ± {format_error(error, 'money')}")
        else:
            out.append(_money(value))
    return out
