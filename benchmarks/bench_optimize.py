"""Time the funding optimizer on the flagship scenario with a budget that binds.

Run by hand: ``python benchmarks/bench_optimize.py [--draws 1000] [--budget-share 0.7]``.
The budget is a share of the expected spend of the scenario's own plan (all work groups at
their planned targets and starts), so the optimizer must leave something out or scale it
down. Prints the time, plans evaluated, time per evaluation, the chosen plan and its
objective beside the scenario's own plan. Goal: under a minute on a 2-core machine.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cxsim
from cxsim.analysis.planning import optimize

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "retail_bank.yaml"))
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget-share", type=float, default=0.7)
    parser.add_argument("--risk", choices=["mean", "p10"], default="mean")
    args = parser.parse_args(argv)

    scenario = cxsim.load_scenario(args.scenario)
    started = time.perf_counter()
    own = cxsim.simulate(scenario, draws=args.draws, seed=args.seed, progress=False)
    one_run = time.perf_counter() - started
    own_spend = float(own.programme_cost.sum(axis=1).mean())
    budget = args.budget_share * own_spend
    print(
        f"scenario: {scenario.name} ({len(scenario.work_groups)} work groups, "
        f"{scenario.horizon_months} months), {args.draws} draws, seed {args.seed}"
    )
    print(
        f"own plan: spend {own_spend:,.0f}, expected NPV {own.outcomes['npv'].mean():,.0f} "
        f"(one simulation {one_run:.2f} s)"
    )
    print(f"budget: {args.budget_share:.0%} of that = {budget:,.0f}; objective: {args.risk}\n")

    started = time.perf_counter()
    result = optimize(scenario, budget, risk=args.risk, draws=args.draws, seed=args.seed)
    seconds = time.perf_counter() - started
    print(result.summary())
    print(
        f"\ntime {seconds:.1f} s, {result.evaluations_} plans evaluated, "
        f"{seconds / result.evaluations_:.3f} s per plan; frontier of {len(result.frontier())} "
        f"plans; {'within' if seconds < 60 else 'OVER'} the one-minute goal"
    )


if __name__ == "__main__":
    main()
